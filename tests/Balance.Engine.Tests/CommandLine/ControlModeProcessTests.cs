using System.Globalization;
using Balance.Configuration;
using Balance.Control;
using Xunit;

namespace Balance.Tests.CommandLine;

/// <summary><c>balance -c/-i</c> as a real process against a segment held by this test.</summary>
public sealed class ControlModeProcessTests : IDisposable
{
    private readonly SegmentDirectory segments = new();

    public void Dispose() => segments.Dispose();

    [Fact]
    public async Task No_instance_exits_69_naming_the_endpoint()
    {
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", "19"]);
        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.StartsWith("balance: no Balance instance is running on 127.0.0.1:19", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instance_that_died_without_cleaning_up_is_not_running()
    {
        using var instance = new LiveSegment(segments);
        instance.Segment.Header.State = (int)EngineState.Stopped;
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", instance.PortText]);
        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Contains("no master process", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_different_layout_exits_65()
    {
        using var instance = new LiveSegment(segments);
        instance.Segment.Header.LayoutVersion = SegmentLayout.LayoutVersion + 7;
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", instance.PortText]);
        Assert.Equal(ExitCodes.DataError, result.ExitCode);
        Assert.Contains("layout mismatch", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_segment_exits_65()
    {
        var name = segments.NameFor("127.0.0.1", 21);
        await File.WriteAllBytesAsync(name.Path, Enumerable.Range(0, 100).Select(i => (byte)(i * 7)).ToArray());
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", "21"]);
        Assert.Equal(ExitCodes.DataError, result.ExitCode);
        Assert.Contains("damaged", result.Error, StringComparison.Ordinal);
        Assert.Contains(name.Path, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_ports_run_the_script_on_each_with_every_line_headed_by_its_port()
    {
        using var first = new LiveSegment(segments);
        using var second = new LiveSegment(segments);
        foreach (var instance in new[] { first, second })
        {
            instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);
            instance.Client.Create(0, "127.0.0.1", 9102, enabled: true);
        }

        // A port with no instance in the middle fails alone: the instances after it still run the script.
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "drain 1; show", first.PortText, "19", second.PortText]);
        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.All([first, second], i => Assert.Equal(ChannelAdminState.Draining, i.Client.GetChannel(0, 1).AdminState));
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(first.PortText + ": channel 1 draining", lines[0]);
        Assert.Contains(lines, l => l.StartsWith(second.PortText + ": channel 1 draining", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Matches("^(" + first.PortText + "|" + second.PortText + "): ", l));
        Assert.StartsWith("19: balance: no Balance instance is running on 127.0.0.1:19", result.Error, StringComparison.Ordinal);

        result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "group 0; enable 1", first.PortText, second.PortText]);
        Assert.Equal(0, result.ExitCode);
        Assert.All([first, second], i => Assert.Equal(ChannelAdminState.Enabled, i.Client.GetChannel(0, 1).AdminState));
    }

    [Fact]
    public async Task Commands_run_in_one_session_and_change_the_instance()
    {
        using var instance = new LiveSegment(segments);
        instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);
        instance.Client.Create(1, "127.0.0.1", 9102, enabled: true);
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "group 1; disable 0; show", instance.PortText]);
        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.Error);
        Assert.True(instance.Client.GetChannel(0, 0).Enabled);
        Assert.False(instance.Client.GetChannel(1, 0).Enabled);
        Assert.Contains("GRP Type", result.Output, StringComparison.Ordinal);
        Assert.Contains("9102", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("::", new string[0])]
    [InlineData("0.0.0.0", new[] { "-6" })]
    public async Task A_wildcard_instance_is_found_with_or_without_6(string wildcard, string[] options)
    {
        using var instance = new LiveSegment(segments, wildcard);
        instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);
        var result = await BalanceExecutable.RunAsync(segments, [.. options, "-c", "disable 0", instance.PortText]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(instance.Client.GetChannel(0, 0).Enabled);
    }

    [Fact]
    public async Task Quit_stops_the_script()
    {
        using var instance = new LiveSegment(segments);
        instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "quit; disable 0", instance.PortText]);
        Assert.Equal(0, result.ExitCode);
        Assert.True(instance.Client.GetChannel(0, 0).Enabled);
    }

    [Fact]
    public async Task Kill_exits_zero_once_the_instance_is_gone()
    {
        using var instance = new LiveSegment(segments);
        var stopper = instance.StopOnKillAsync(TimeSpan.FromSeconds(30));
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", instance.PortText]);
        await stopper;
        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.Error);
    }

    [Fact]
    public async Task Interactive_mode_reads_commands_from_stdin()
    {
        using var instance = new LiveSegment(segments);
        instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-i", instance.PortText], "disable 0\nshow\n");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("balance[0] ", result.Output, StringComparison.Ordinal);
        Assert.Contains("GRP Type", result.Output, StringComparison.Ordinal);
        Assert.False(instance.Client.GetChannel(0, 0).Enabled);
    }

    [Fact]
    public async Task Another_user_is_refused_and_changes_nothing()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            return; // Acting as a second user needs root and setpriv (util-linux); CI has both.
        }

        if (OperatingSystem.IsWindows() || !ReachableByEveryone(BalanceExecutable.Path))
        {
            Assert.Fail($"{BalanceExecutable.Path} is not readable and executable by other users, so this test cannot run it as nobody");
        }

        File.SetUnixFileMode(segments.Path, (UnixFileMode)Convert.ToInt32("755", 8));
        using var instance = new LiveSegment(segments);
        instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);
        var before = instance.Client.GetChannel(0, 0);
        var nobody = new[] { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups" };
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "disable 0", instance.PortText], runAs: nobody);
        Assert.Equal(ExitCodes.NoPermission, result.ExitCode);
        Assert.Contains("permission denied", result.Error, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{instance.Port}"), result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, instance.Client.GetChannel(0, 0));
    }

    [Fact]
    public async Task Bad_command_lines_fail_without_a_stack_trace()
    {
        var result = await BalanceExecutable.RunAsync(segments, ["-t", "0", "9000", "x"]);
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("balance: invalid connect timeout [-t 0]: give whole seconds from 1 to 86400\nRun 'balance -h' to see how to call it.\n", result.Error);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task Help_exits_zero()
    {
        var result = await BalanceExecutable.RunAsync(segments, ["-h"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Options", result.Output, StringComparison.Ordinal);
    }

    /// <summary>Every directory on the way is searchable by others and the file is executable by them.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static bool ReachableByEveryone(string path)
    {
        var others = UnixFileMode.OtherExecute;
        if ((File.GetUnixFileMode(path) & (others | UnixFileMode.OtherRead)) != (others | UnixFileMode.OtherRead))
        {
            return false;
        }

        for (var dir = Path.GetDirectoryName(path); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if ((File.GetUnixFileMode(dir) & others) == 0)
            {
                return false;
            }
        }

        return true;
    }
}
