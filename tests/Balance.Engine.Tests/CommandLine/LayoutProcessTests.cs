using System.Globalization;
using Balance.Configuration;
using Balance.Tests.Configuration;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.CommandLine;

/// <summary>The real executable saving a live layout with <c>-c save</c> and starting from it with <c>--layout</c>.</summary>
public sealed class LayoutProcessTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly SegmentDirectory segments = new();
    private readonly LayoutFileTests.TemporaryFolder folder = new();
    private readonly TestBackend backend = TestBackend.Start("A");

    public void Dispose()
    {
        segments.Dispose();
        folder.Dispose();
        backend.Dispose();
    }

    [Fact]
    public async Task A_layout_saved_with_c_save_starts_an_instance_with_the_same_layout()
    {
        var port = Loopback.FreePort();
        using var first = BalanceExecutable.Start(segments, ["-f", "-b", "127.0.0.1", "--policy", "1=maglev", Text(port), backend.Channel, "127.0.0.1:9::2", "!", backend.Channel + ":0:5"]);
        Assert.True(await Loopback.EventuallyAsync(() => first.Process.HasExited || File.Exists(segments.NameFor("127.0.0.1", port).Path), Wait), "no segment appeared");
        var saved = Path.Combine(folder.Path, "web.layout");
        var save = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "disable 1; group 1; drain 0; save " + saved, Text(port)]);
        Assert.True(save.ExitCode == 0, save.ToString());
        Assert.Contains($"layout saved to {saved} (2 groups, 3 channels)", save.Output, StringComparison.Ordinal);

        var second = Loopback.FreePort();
        using var started = BalanceExecutable.Start(segments, ["-f", "-b", "127.0.0.1", "--layout", saved, Text(second)]);
        Assert.True(await Loopback.EventuallyAsync(() => started.Process.HasExited || File.Exists(segments.NameFor("127.0.0.1", second).Path), Wait), started.Error);
        Assert.Equal("A", await Loopback.GreetingAsync(second, Wait));
        var again = Path.Combine(folder.Path, "again.layout");
        var resave = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "save " + again, Text(second)]);
        Assert.True(resave.ExitCode == 0, resave.ToString());
        Assert.Equal(LayoutFileTests.Body(File.ReadAllText(saved)), LayoutFileTests.Body(File.ReadAllText(again)));
        Assert.Contains("group 1 maglev\nchannel 127.0.0.1:", File.ReadAllText(again), StringComparison.Ordinal);
        Assert.Contains("maxc 0 weight 5 draining\nend 3 channels\n", File.ReadAllText(again), StringComparison.Ordinal);

        foreach (var p in new[] { port, second })
        {
            var kill = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", Text(p)]);
            Assert.True(kill.ExitCode == 0, kill.ToString());
        }
    }

    [Fact]
    public async Task A_detached_start_from_a_bad_file_reports_the_line_and_leaves_nothing_running()
    {
        var path = folder.File("bad.layout", "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1:80 maxc 0 weight 1 enabled\nchannel 127.0.0.1:81 maxc 0 wei");
        var port = Loopback.FreePort();
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "--layout", path, Text(port)]);
        Assert.Equal(ExitCodes.DataError, result.ExitCode);
        Assert.StartsWith($"balance: layout file {path} line 4: unknown word [wei]", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(segments.NameFor("127.0.0.1", port).Path));
        Assert.Empty(segments.LiveProcesses());
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
