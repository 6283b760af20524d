namespace Balance.Shell;

/// <summary>
/// Turns the first word of a line into a command. Case-sensitive; a word that is the start of
/// exactly one command name selects it. Unlike the original, which tried the names in a fixed
/// order and took the first hit (so <c>k</c> killed the engine and <c>h</c> meant help, not hash),
/// an ambiguous word is refused with the candidates, and <c>kill</c> only answers to its full name.
/// </summary>
internal static class CommandMatcher
{
    private const string KillName = "kill";

    /// <summary>
    /// Commands the original did not have answer to their full name only, so no abbreviation a
    /// script wrote for the original (<c>d</c> for disable, <c>he</c> for help, <c>ma</c> for maxc, <c>s</c> for show) changes meaning.
    /// </summary>
    private static readonly (string Name, ShellCommand Command)[] FullNameOnly =
    [
        ("check", ShellCommand.Check),
        ("drain", ShellCommand.Drain),
        ("health", ShellCommand.Health),
        ("mrtg-health", ShellCommand.MrtgHealth),
        ("wrr", ShellCommand.WeightedRoundRobin),
        ("leastconn", ShellCommand.LeastConnections),
        ("maglev", ShellCommand.Maglev),
        ("weight", ShellCommand.Weight),
        ("save", ShellCommand.Save),
    ];

    /// <summary>Sorted by name: the order candidates are listed in.</summary>
    private static readonly (string Name, ShellCommand Command)[] Commands =
    [
        ("assign", ShellCommand.Assign),
        ("create", ShellCommand.Create),
        ("disable", ShellCommand.Disable),
        ("enable", ShellCommand.Enable),
        ("group", ShellCommand.Group),
        ("hash", ShellCommand.Hash),
        ("help", ShellCommand.Help),
        (KillName, ShellCommand.Kill),
        ("maxc", ShellCommand.Maxc),
        ("mrtg-bytes", ShellCommand.MrtgBytes),
        ("mrtg-conns", ShellCommand.MrtgConns),
        ("quit", ShellCommand.Quit),
        ("reset", ShellCommand.Reset),
        ("rr", ShellCommand.RoundRobin),
        ("show", ShellCommand.Show),
        ("version", ShellCommand.Version),
    ];

    /// <summary>The command <paramref name="word"/> names, or the reply that explains why it names none.</summary>
    public static CommandMatch Match(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word == "?")
        {
            return new CommandMatch(ShellCommand.Help, null);
        }

        foreach (var entry in FullNameOnly)
        {
            if (entry.Name == word)
            {
                return new CommandMatch(entry.Command, null);
            }
        }

        var candidates = new List<(string Name, ShellCommand Command)>();
        foreach (var entry in Commands)
        {
            if (entry.Name == word)
            {
                return new CommandMatch(entry.Command, null);
            }

            // Stopping the engine is the one command a typo must never reach.
            if (entry.Name != KillName && word.Length > 0 && entry.Name.StartsWith(word, StringComparison.Ordinal))
            {
                candidates.Add(entry);
            }
        }

        return candidates.Count switch
        {
            1 => new CommandMatch(candidates[0].Command, null),
            0 when word.Length > 0 && KillName.StartsWith(word, StringComparison.Ordinal) => new CommandMatch(null, ShellReplies.KillNotAbbreviated),
            0 => new CommandMatch(null, ShellReplies.SyntaxError),
            _ => new CommandMatch(null, ShellReplies.Ambiguous(candidates.Select(c => c.Name))),
        };
    }
}

/// <summary>Either a command or the reply to print instead.</summary>
internal readonly record struct CommandMatch(ShellCommand? Command, string? Reply);
