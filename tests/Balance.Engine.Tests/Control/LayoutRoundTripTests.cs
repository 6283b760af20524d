using System.Net.Sockets;
using Balance.CommandLine;
using Balance.Configuration;
using Balance.Control;
using Balance.Shell;
using Balance.Tests.Configuration;
using Balance.Tests.Infrastructure;
using Balance.Tests.Shell;
using Xunit;

namespace Balance.Tests.Control;

/// <summary>Saving a live layout and starting from it: the second instance has the first one's layout, field for field.</summary>
public sealed class LayoutRoundTripTests : IDisposable
{
    private readonly LayoutFileTests.TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public async Task Every_policy_state_weight_and_check_setting_survives_save_and_start()
    {
        // One group per policy, with a gap (group 5 empty) before the last.
        string[] words = ["127.0.0.1:9001", "127.0.0.1:9002:5", "!", "127.0.0.1:9003", "127.0.0.1:9004", "%", "127.0.0.1:9005::3", "!", "127.0.0.1:9006", "!", "127.0.0.1:9007", "!"];
        await using var first = TestEngine.Start(port => TestEngine.Configuration(port, words) is var c
            ? c with { Groups = [.. c.Groups.Take(2), c.Groups[2] with { Type = (GroupType)2 }, c.Groups[3] with { Type = (GroupType)3 }, new GroupSpec(GroupType.RoundRobin, []), new GroupSpec(GroupType.RoundRobin, []), c.Groups[4] with { Type = (GroupType)4 }] }
            : c);
        using (var client = first.Control())
        {
            var shell = new ShellSession(client);
            Assert.Equal("channel 1 disabled\n", shell.Run("disable 1"));
            shell.Run("group 1");
            shell.Run("drain 0");
            shell.Run("weight 1 0");
            shell.Run("group 3");
            shell.Run("weight 0 256");
            shell.Run("maxc 0 7");
            shell.Run("check 0 interval 500 rise 4 fall 5 port 8443");
            shell.Run("group 6");
            Assert.Equal("channel created\n", shell.Run("create localhost:9008:2:9"));
            shell.Run("create 127.0.0.1 9009");
            shell.Run("enable 2");

            var path = Path.Combine(folder.Path, "live.layout");
            var reply = shell.Run("save " + path);
            Assert.Equal($"layout saved to {path} (5 groups, 9 channels)\n", reply);
            Assert.False(shell.LastCommandFailed);

            var saved = File.ReadAllText(path);
            Assert.Contains("group 1 hash\nchannel 127.0.0.1:9003 maxc 0 weight 1 draining\nchannel 127.0.0.1:9004 maxc 0 weight 0 enabled\n", saved, StringComparison.Ordinal);
            Assert.Contains("group 3 leastconn\nchannel 127.0.0.1:9006 maxc 7 weight 256 enabled check-interval 500 check-rise 4 check-fall 5 check-port 8443\n", saved, StringComparison.Ordinal);
            Assert.Contains("group 6 maglev\nchannel 127.0.0.1:9007 maxc 0 weight 1 enabled\nchannel localhost:9008 maxc 2 weight 9 disabled\nchannel 127.0.0.1:9009 maxc 0 weight 1 enabled\nend 9 channels\n", saved, StringComparison.Ordinal);

            await using var second = TestEngine.Start(port => TestEngine.Configuration(port) with { Groups = LayoutFile.Load(path).Groups });
            using var again = second.Control();
            Assert.Equal(LayoutFileTests.Body(saved), LayoutFileTests.Body(LayoutFile.Format(LiveLayout.Read(again), null)));
            Assert.Equal(ChannelAdminState.Draining, again.GetChannel(1, 0).AdminState);
            Assert.Equal(new ChannelCheckOverrides(500, 4, 5, 8443), again.GetChannel(3, 0).CheckOverrides);
            Assert.Equal(0, again.GetGroup(5).ChannelCount);
        }
    }

    [Fact]
    public void Save_in_the_shell_is_a_full_word_and_its_failures_fail_the_command()
    {
        Assert.Equal(ShellCommand.Show, CommandMatcher.Match("s").Command);
        Assert.Null(CommandMatcher.Match("sa").Command);
        Assert.Null(CommandMatcher.Match("sav").Command);
        Assert.Equal(ShellCommand.Save, CommandMatcher.Match("save").Command);
        Assert.Contains("save <file>", ShellHelp.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_save_that_cannot_write_or_has_no_single_file_name_fails_and_writes_nothing()
    {
        await using var engine = TestEngine.Start(["127.0.0.1:9001"]);
        using var client = engine.Control();
        var shell = new ShellSession(client);
        var missing = Path.Combine(folder.Path, "no", "such", "folder", "x.layout");
        Assert.StartsWith($"save: cannot write [{missing}]: ", shell.Run("save " + missing), StringComparison.Ordinal);
        Assert.True(shell.LastCommandFailed);
        Assert.Equal("save: give one file name (without blanks): save <file>\n", shell.Run("save"));
        Assert.True(shell.LastCommandFailed);
        Assert.Equal("save: give one file name (without blanks): save <file>\n", shell.Run("save my layout"));
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "balance-layout 9\ngroup 0 rr\nchannel 127.0.0.1:9001\nend 1 channels\n", "line 1: layout version [9]" },
        { "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1:9001 maxc 0 weight 1 enabled\nchannel 127.0.0.1:90", "line 4: the file ends here without its end line" },
        { "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1:9001 wieght 3\nend 1 channels\n", "line 3: unknown word [wieght]" },
        { "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1\nend 1 channels\n", "line 3: bad address [127.0.0.1]" },
        { "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1:9001\ngroup 0 rr\nchannel 127.0.0.1:9002\nend 2 channels\n", "line 4: group 0 appears twice" },
        { "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1:9001 weight 999\nend 1 channels\n", "line 3: weight [999] is out of range" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task A_bad_file_on_the_command_line_exits_65_with_one_line_and_nothing_listens(string text, string problem)
    {
        var path = folder.File("bad.layout", text);
        var port = FreePort.Next();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = BalanceCommand.Run(["-f", "-b", "127.0.0.1", "--layout", path, port.ToString(System.Globalization.CultureInfo.InvariantCulture)], TextReader.Null, output, error);
        Assert.Equal(ExitCodes.DataError, code);
        var first = error.ToString().Split('\n')[0];
        Assert.StartsWith($"balance: layout file {path} {problem}", first, StringComparison.Ordinal);
        Assert.False(File.Exists(SegmentName.FromNormalized("127.0.0.1", port).Path));
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", port));
    }

    [Theory]
    [InlineData("--layout", "x.layout", "-c", "show", "option --layout gives the channels of a proxy you start")]
    [InlineData("--state-file", "x.layout", "-i", null, "option --state-file gives the channels of a proxy you start")]
    [InlineData("--layout", "x.layout", "--policy", "maglev", "option --policy cannot change a layout from --layout")]
    public void Layout_options_outside_a_start_are_usage_errors(string option, string file, string other, string? value, string message)
    {
        string[] args = value is null ? [option, file, other, "9000"] : [option, file, other, value, "9000"];
        var e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(args));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Layout_and_channels_together_are_a_usage_error_and_a_state_file_that_exists_wins_over_the_channels()
    {
        var e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(["--layout", "x.layout", "9000", "127.0.0.1:80"]));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("give either --layout FILE or channels after the port, not both", e.Message, StringComparison.Ordinal);

        var state = Path.Combine(folder.Path, "state.layout");
        var fresh = CommandLineParser.Parse(["--state-file", state, "9000", "127.0.0.1:80"]);
        Assert.Equal("127.0.0.1", fresh.Configuration.Groups[0].Channels[0].Host);
        Assert.Equal(state, fresh.Configuration.StateFile);
        folder.File("state.layout", "balance-layout 1\ngroup 1 wrr\nchannel 127.0.0.2:81 maxc 0 weight 2 disabled\nend 1 channels\n");
        var restarted = CommandLineParser.Parse(["--state-file", state, "9000", "127.0.0.1:80"]);
        var channel = restarted.Configuration.Groups[1].Channels.Single();
        Assert.Equal(("127.0.0.2", 81, 2, ChannelAdminState.Disabled), (channel.Host, channel.Port, channel.Weight, channel.AdminState));
        Assert.Equal(CommandLineParser.Parse(["--state-file", state, "9000"]).Configuration.Groups.Count, restarted.Configuration.Groups.Count);
    }

    [Fact]
    public async Task The_state_file_follows_live_changes_and_a_restart_starts_from_it()
    {
        var state = Path.Combine(folder.Path, "state.layout");
        var engine = TestEngine.Start(["127.0.0.1:9001", "127.0.0.1:9002"], c => c with { StateFile = state });
        try
        {
            await Eventually.TrueAsync(() => Read(state).Contains("channel 127.0.0.1:9002 maxc 0 weight 1 enabled\n", StringComparison.Ordinal), "the state file written at start");
            using (var client = engine.Control())
            {
                client.Disable(0, 1);
                client.SetWeight(0, 0, 4);
                client.SetPolicy(0, 3);
                client.SetCheckOverrides(0, 0, new ChannelCheckOverrides(0, 0, 0, 8080));
            }

            var expected = "group 0 leastconn\nchannel 127.0.0.1:9001 maxc 0 weight 4 enabled check-port 8080\nchannel 127.0.0.1:9002 maxc 0 weight 1 disabled\nend 2 channels\n";
            await Eventually.TrueAsync(() => Read(state).EndsWith(expected, StringComparison.Ordinal), () => "the state file after the changes: " + Read(state));

            using (var client = engine.Control())
            {
                client.Drain(0, 0);
            }

            // Stopping writes a change the spacing held back.
            await engine.StopAsync(TimeSpan.Zero);
            Assert.EndsWith(expected.Replace("weight 4 enabled", "weight 4 draining", StringComparison.Ordinal), Read(state), StringComparison.Ordinal);
        }
        finally
        {
            await engine.DisposeAsync();
        }

        var parsed = CommandLineParser.Parse(["-b", "127.0.0.1", "--state-file", state, "9000", "127.0.0.1:9999"]);
        await using var restarted = TestEngine.Start(port => parsed.Configuration with { Port = port, StateFile = null });
        using var again = restarted.Control();
        Assert.Equal(LayoutFileTests.Body(Read(state)), LayoutFileTests.Body(LayoutFile.Format(LiveLayout.Read(again), null)));
    }

    private static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : string.Empty;
}
