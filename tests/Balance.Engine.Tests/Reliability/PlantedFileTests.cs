using System.Diagnostics;
using System.Globalization;
using Balance.Configuration;
using Balance.Control;
using Balance.Tests.CommandLine;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// A non-root owner in a sticky, world-writable segment directory (like /dev/shm), and a second
/// user who creates files there first. The engine relies only on names it creates at start; a
/// name taken before that stops the start with one line that says what to do (an ordinary user
/// cannot remove another user's file from a sticky directory, so "remove it" would not do).
/// </summary>
public sealed class PlantedFileTests : IDisposable
{
    private const string Owner = "65534";
    private const string Planter = "4242";
    private readonly SegmentDirectory segments = new();

    public void Dispose() => segments.Dispose();

    [Theory]
    [InlineData(".owner")]
    [InlineData("")]
    public async Task A_file_planted_under_the_owner_or_segment_name_stops_the_start_with_one_line_naming_the_cure(string suffix)
    {
        if (!CanActAsTwoUsers())
        {
            return; // Needs root and setpriv (CI has both).
        }

        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        RunAs(Planter, "/usr/bin/touch", name.Path + suffix);

        var result = await BalanceExecutable.RunAsync(segments, ["-f", "-b", "127.0.0.1", Text(port), "127.0.0.1:9"], runAs: As(Owner));

        Assert.True(result.ExitCode == ExitCodes.NoPermission, result.ToString());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("balance: " + name.Path + suffix, lines[0], StringComparison.Ordinal);
        Assert.Contains("user id " + Planter, result.Error, StringComparison.Ordinal);
        Assert.Contains("ask root to delete " + name.Path + suffix, lines[0], StringComparison.Ordinal);
        Assert.Contains("BALANCE_SEGMENT_DIR", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", result.Error, StringComparison.Ordinal);
        Assert.False(EngineChild.Accepts(port));
    }

    [Fact]
    public async Task A_planted_control_lock_name_blocks_no_structural_command()
    {
        if (!CanActAsTwoUsers())
        {
            return;
        }

        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        RunAs(Planter, "/usr/bin/touch", name.ControlLockPath);
        string[] endpoint = ["-b", "127.0.0.1"];
        var start = await BalanceExecutable.RunAsync(segments, [.. endpoint, Text(port), "127.0.0.1:9"], runAs: As(Owner));
        Assert.True(start.ExitCode == 0, start.ToString());
        try
        {
            var result = await BalanceExecutable.RunAsync(segments, [.. endpoint, "-c", "create 127.0.0.1 9101; assign 1 127.0.0.1 9102; hash; rr; show", Text(port)], runAs: As(Owner));

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("9102", result.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("unexpected", result.Error + result.Output, StringComparison.Ordinal);
        }
        finally
        {
            var kill = await BalanceExecutable.RunAsync(segments, [.. endpoint, "-c", "kill", Text(port)], runAs: As(Owner));
            Assert.True(kill.ExitCode == 0, kill.ToString());
        }
    }

    private bool CanActAsTwoUsers()
    {
        if (!OperatingSystem.IsLinux() || !OwnedFile.IsChecked || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            return false;
        }

        File.SetUnixFileMode(segments.Path, (UnixFileMode)Convert.ToInt32("1777", 8)); // like /dev/shm
        return true;
    }

    private static string[] As(string uid) => ["/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups"];

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static void RunAs(string uid, string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(As(uid)[0], [.. As(uid).Skip(1), program, .. args]) { RedirectStandardError = true })!;
        var error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(10_000), program + " hung");
        Assert.True(p.ExitCode == 0, $"{program} failed: {error}");
    }
}
