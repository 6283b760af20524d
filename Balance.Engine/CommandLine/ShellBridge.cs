using Balance.Control;
using Balance.Shell;

namespace Balance.CommandLine;

/// <summary>The only place the command line calls into the shell, so the two evolve independently.</summary>
internal static class ShellBridge
{
    /// <summary>The <c>-i</c> loop; returns its exit status.</summary>
    public static int RunInteractive(ControlClient client, TextReader input, TextWriter output) =>
        InteractiveShell.Run(client, input, output);

    /// <summary>
    /// The <c>-c</c> text, split into commands run in one session (so <c>group N</c> carries over),
    /// stopping at <c>quit</c> or <c>kill</c>, and at the first command that replies with an error
    /// (the rest would run against a state the script did not expect: <c>group 40; disable 0</c>
    /// must not disable channel 0 of group 0). Returns the exit status: 65 for a failed command.
    /// </summary>
    public static int RunScript(ControlClient client, string script, TextWriter output)
    {
        var session = new ShellSession(client);
        foreach (var command in ShellScript.Split(script))
        {
            var outcome = session.Execute(command, output);
            output.Flush();
            switch (outcome)
            {
                case ShellOutcome.Quit:
                case ShellOutcome.Killed:
                    return Configuration.ExitCodes.Ok;
                case ShellOutcome.KillFailed:
                    return Configuration.ExitCodes.Unavailable;
            }

            if (session.LastCommandFailed)
            {
                return Configuration.ExitCodes.DataError;
            }
        }

        return Configuration.ExitCodes.Ok;
    }
}
