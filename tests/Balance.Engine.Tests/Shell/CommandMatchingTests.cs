using Balance.Shell;
using Xunit;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Shell;

public class CommandMatchingTests
{
    [Theory]
    [InlineData("create", "create")]
    [InlineData("cr", "create")]
    [InlineData("c", "create")]
    [InlineData("a", "assign")]
    [InlineData("d", "disable")]
    [InlineData("e", "enable")]
    [InlineData("g", "group")]
    [InlineData("ha", "hash")]
    [InlineData("he", "help")]
    [InlineData("?", "help")]
    [InlineData("kill", "kill")]
    [InlineData("ma", "maxc")]
    [InlineData("mrtg-b", "mrtg-bytes")]
    [InlineData("mrtg-c", "mrtg-conns")]
    [InlineData("mrtg-conns", "mrtg-conns")]
    [InlineData("q", "quit")]
    [InlineData("re", "reset")]
    [InlineData("rr", "rr")]
    [InlineData("s", "show")]
    [InlineData("v", "version")]
    public void A_unique_prefix_or_the_full_name_selects_the_command(string word, string expected)
    {
        var match = CommandMatcher.Match(word);
        Assert.Null(match.Reply);
        Assert.Equal(expected, Name(match.Command!.Value));
    }

    [Theory]
    [InlineData("h", "ambiguous command, one of: hash, help")]
    [InlineData("r", "ambiguous command, one of: reset, rr")]
    [InlineData("m", "ambiguous command, one of: maxc, mrtg-bytes, mrtg-conns")]
    [InlineData("mrtg", "ambiguous command, one of: mrtg-bytes, mrtg-conns")]
    [InlineData("mrtg-", "ambiguous command, one of: mrtg-bytes, mrtg-conns")]
    public void An_ambiguous_prefix_lists_the_candidates(string word, string reply)
    {
        var match = CommandMatcher.Match(word);
        Assert.Null(match.Command);
        Assert.Equal(reply, match.Reply);
    }

    [Theory]
    [InlineData("k")]
    [InlineData("ki")]
    [InlineData("kil")]
    public void Kill_is_never_abbreviated(string word)
    {
        var match = CommandMatcher.Match(word);
        Assert.Null(match.Command);
        Assert.StartsWith("syntax error", match.Reply, StringComparison.Ordinal);
        Assert.Contains("kill", match.Reply, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SHOW")]
    [InlineData("Show")]
    [InlineData("showx")]
    [InlineData("killall")]
    [InlineData("x")]
    [InlineData("??")]
    [InlineData("-")]
    public void Other_case_longer_words_and_unknown_words_are_syntax_errors(string word)
    {
        var match = CommandMatcher.Match(word);
        Assert.Null(match.Command);
        Assert.Equal("syntax error", match.Reply);
    }

    [Theory]
    [InlineData("ma", "maxc")]
    [InlineData("mag", null)]
    [InlineData("w", null)]
    [InlineData("wr", null)]
    [InlineData("wei", null)]
    [InlineData("l", null)]
    [InlineData("least", null)]
    public void The_policy_words_and_weight_answer_to_their_full_names_only_so_ma_still_means_maxc(string word, string? expected)
    {
        var command = CommandMatcher.Match(word).Command;
        Assert.Equal(expected, command is { } c ? Name(c) : null);
    }

    [Fact]
    public void Every_command_is_reachable_by_its_full_name()
    {
        foreach (var command in Enum.GetValues<ShellCommand>())
        {
            Assert.Equal(command, CommandMatcher.Match(Name(command)).Command);
        }
    }

    [Fact]
    public void Unknown_words_reach_the_session_as_syntax_errors_and_abbreviated_kill_does_not_stop_anything()
    {
        using var instance = new FakeInstance();
        var session = new ShellSession(instance.Client, TimeSpan.FromMilliseconds(50));
        Assert.Equal("syntax error\n", session.Run("frobnicate 1 2", out var outcome));
        Assert.Equal(ShellOutcome.Continue, outcome);
        Assert.StartsWith("syntax error", session.Run("k", out outcome), StringComparison.Ordinal);
        Assert.Equal(ShellOutcome.Continue, outcome);
        Assert.Equal(0, instance.Segment.Header.KillRequested);
        Assert.Equal("ambiguous command, one of: hash, help\n", session.Run("h"));
    }

    private static string Name(ShellCommand command) => command switch
    {
        ShellCommand.Create => "create",
        ShellCommand.Assign => "assign",
        ShellCommand.Disable => "disable",
        ShellCommand.Enable => "enable",
        ShellCommand.Group => "group",
        ShellCommand.Hash => "hash",
        ShellCommand.Help => "help",
        ShellCommand.Kill => "kill",
        ShellCommand.Maxc => "maxc",
        ShellCommand.MrtgBytes => "mrtg-bytes",
        ShellCommand.MrtgConns => "mrtg-conns",
        ShellCommand.Quit => "quit",
        ShellCommand.Reset => "reset",
        ShellCommand.RoundRobin => "rr",
        ShellCommand.Show => "show",
        ShellCommand.Version => "version",
        ShellCommand.Drain => "drain",
        ShellCommand.Health => "health",
        ShellCommand.Check => "check",
        ShellCommand.MrtgHealth => "mrtg-health",
        ShellCommand.WeightedRoundRobin => "wrr",
        ShellCommand.LeastConnections => "leastconn",
        ShellCommand.Maglev => "maglev",
        ShellCommand.Weight => "weight",
        ShellCommand.Save => "save",
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };
}
