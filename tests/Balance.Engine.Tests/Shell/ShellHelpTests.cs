using Balance.Shell;
using Xunit;

namespace Balance.Tests.Shell;

public class ShellHelpTests
{
    [Fact]
    public void Help_lists_the_original_commands_in_the_original_order()
    {
        var lines = ShellHelp.Text.Split('\n');
        Assert.Equal("available commands:", lines[0]);
        Assert.Equal(string.Empty, lines[^1]);
        var added = Array.IndexOf(lines, "added since (full names only):");
        var names = lines[1..added].Select(l => l.TrimStart().Split(' ')[0]).ToArray();
        Assert.Equal(
            ["create", "assign", "disable", "enable", "group", "hash", "help", "kill", "maxc", "mrtg-bytes", "mrtg-conns", "quit", "reset", "rr", "show", "version"],
            names);
        Assert.Equal(["drain", "health", "check", "mrtg-health", "wrr", "leastconn", "maglev", "weight", "save"], lines[(added + 1)..^1].Select(l => l.TrimStart().Split(' ')[0]));
        Assert.All(lines[added..], l => Assert.True(l.Length <= 80, l));
    }

    [Fact]
    public void Every_listed_command_is_understood_by_the_shell()
    {
        foreach (var line in ShellHelp.Text.Split('\n')[1..^1].Where(l => l.StartsWith("  ", StringComparison.Ordinal)))
        {
            var name = line.TrimStart().Split(' ')[0];
            Assert.NotNull(CommandMatcher.Match(name).Command);
        }
    }
}
