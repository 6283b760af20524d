using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.CommandLine;

/// <summary>The real executable starting real engines: foreground, detached, and the failures a launcher must report.</summary>
public sealed class EngineProcessTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly SegmentDirectory segments = new();
    private readonly TestBackend backendA = TestBackend.Start("A");
    private readonly TestBackend backendB = TestBackend.Start("B");

    public void Dispose()
    {
        segments.Dispose();
        backendA.Dispose();
        backendB.Dispose();
    }

    [Fact]
    public async Task Foreground_instance_serves_and_stops_gracefully_on_SIGTERM()
    {
        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        using var balance = BalanceExecutable.Start(segments, ["-f", "-d", "-b", "127.0.0.1", Text(port), backendA.Channel + ":3"]);
        Assert.True(await Loopback.EventuallyAsync(() => balance.Process.HasExited || File.Exists(name.Path), Wait), "no segment appeared");
        Assert.False(balance.Process.HasExited, balance.Error);
        Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));
        Assert.True(await Loopback.EventuallyAsync(() => balance.Error.Contains("the following channels are active:", StringComparison.Ordinal), Wait), balance.Error);
        Assert.Contains($"  0  0 {backendA.Channel}:3", balance.Error, StringComparison.Ordinal);
        Assert.Contains($"source port {port}", balance.Error, StringComparison.Ordinal);
        Assert.Contains(name.Path, balance.Error, StringComparison.Ordinal);

        Signal(balance.Process.Id, "TERM");
        Assert.Equal(0, await balance.WaitForExitAsync(Wait));
        Assert.False(File.Exists(name.Path));
    }

    [Fact]
    public async Task A_second_SIGTERM_cuts_the_grace_period_short()
    {
        await using var holding = TestBackend.Start("R", BackendMode.ReplyAfterHalfClose);
        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        using var balance = BalanceExecutable.Start(segments, ["-f", "-b", "127.0.0.1", Text(port), holding.Channel]);
        Assert.True(await Loopback.EventuallyAsync(() => balance.Process.HasExited || (File.Exists(name.Path) && EngineAccepts(port)), Wait), balance.Error);
        using var client = await LoopbackClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await client.SendAllAsync("abc");
        Assert.True(await Loopback.EventuallyAsync(() => holding.BytesReceived == 3, Wait), "request not relayed");

        Signal(balance.Process.Id, "TERM"); // the session holds: the default grace period (10 s) runs
        await Task.Delay(500);
        Assert.False(balance.Process.HasExited, balance.Error);
        var second = Environment.TickCount64;
        Signal(balance.Process.Id, "TERM");
        Assert.Equal(0, await balance.WaitForExitAsync(Wait));
        Assert.True(Environment.TickCount64 - second < 5_000, "the second signal did not cut the grace period short");
        Assert.False(File.Exists(name.Path));
    }

    [Fact]
    public async Task Workers_on_the_command_line_each_get_a_loop_and_serve()
    {
        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        using var balance = BalanceExecutable.Start(segments, ["-f", "--workers", "3", "-b", "127.0.0.1", Text(port), backendA.Channel]);
        Assert.True(await Loopback.EventuallyAsync(() => balance.Process.HasExited || File.Exists(name.Path), Wait), "no segment appeared");
        Assert.False(balance.Process.HasExited, balance.Error);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));
        }

        if (Balance.Transport.Epoll.EpollTransport.IsSupported)
        {
            // One epoll loop thread per worker.
            var loops = Directory.GetDirectories($"/proc/{balance.Process.Id}/task")
                .Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == "balance epoll");
            Assert.Equal(3, loops);
        }

        var show = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", Text(port)]);
        Assert.True(show.ExitCode == 0, show.ToString());
        var kill = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", Text(port)]);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        Assert.Equal(0, await balance.WaitForExitAsync(Wait));
    }

    [Fact]
    public async Task Foreground_packet_dump_goes_to_stdout_and_kill_ends_the_process_with_zero()
    {
        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        using var balance = BalanceExecutable.Start(segments, ["-fp", "-b", "127.0.0.1", Text(port), backendA.Channel]);
        Assert.True(await Loopback.EventuallyAsync(() => balance.Process.HasExited || File.Exists(name.Path), Wait), "no segment appeared");
        Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));
        Assert.True(await Loopback.EventuallyAsync(() => balance.Output.Contains("-< 2", StringComparison.Ordinal), Wait), balance.Output);

        var kill = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", Text(port)]);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        Assert.Equal(0, await balance.WaitForExitAsync(Wait));
        Assert.Empty(balance.Error);
        Assert.False(File.Exists(name.Path));
    }

    [Fact]
    public async Task Detached_start_returns_once_listening_and_is_controlled_from_other_processes()
    {
        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        var started = await BalanceExecutable.RunAsync(segments, ["-d", "-b", "127.0.0.1", Text(port), backendA.Channel, "!", backendB.Channel]);
        Assert.True(started.ExitCode == 0, started.ToString());
        Assert.Empty(started.Output);
        Assert.Contains("the following channels are active:", started.Error, StringComparison.Ordinal);
        Assert.Contains("running in the background as process", started.Error, StringComparison.Ordinal);

        // No waiting: the launcher only returns after the listener is up and the segment exists.
        Assert.True(File.Exists(name.Path), "no segment right after the launcher returned");
        Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));
        var engines = segments.LiveProcesses();
        Assert.True(engines.Count == 1, $"expected one background engine, found pids [{string.Join(", ", engines)}]");

        var show = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", Text(port)]);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains(Text(backendA.Port), show.Output, StringComparison.Ordinal);
        Assert.Contains(Text(backendB.Port), show.Output, StringComparison.Ordinal);

        var kill = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", Text(port)]);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        Assert.False(File.Exists(name.Path), "the segment is still there after kill");
        Assert.True(await Loopback.EventuallyAsync(() => segments.LiveProcesses().Count == 0, Wait), "the background engine kept running after kill");
    }

    [Fact]
    public async Task An_unknown_BALANCE_IO_value_is_refused_by_name_before_anything_listens()
    {
        var port = Loopback.FreePort();
        var result = await BalanceExecutable.RunAsync(
            segments, ["-f", "-b", "127.0.0.1", Text(port), backendA.Channel], environment: new Dictionary<string, string> { ["BALANCE_IO"] = "epol" });

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("BALANCE_IO=epol is not known: unset it", result.Error, StringComparison.Ordinal);
        Assert.Contains("'runtime'", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        await AssertNothingRunsAsync();
    }

    [Fact]
    public async Task Detached_start_with_an_unresolvable_backend_fails_and_leaves_nothing()
    {
        var port = Loopback.FreePort();
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", Text(port), backendA.Channel, "no-such-host.invalid:80"]);
        Assert.Equal(ExitCodes.DataError, result.ExitCode);
        Assert.StartsWith("balance: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("no-such-host.invalid", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        await AssertNothingRunsAsync();
    }

    [Fact]
    public async Task Detached_start_on_a_busy_port_fails_with_71_and_leaves_nothing()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", Text(port), backendA.Channel]);
        Assert.Equal(ExitCodes.OsError, result.ExitCode);
        Assert.StartsWith("balance: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(Text(port), result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.Empty(segments.LiveProcesses());
        Assert.Empty(Directory.GetFiles(segments.Path, "*.seg"));
    }

    [Fact]
    public async Task A_second_instance_on_the_same_endpoint_fails_and_the_first_keeps_serving()
    {
        var port = Loopback.FreePort();
        var first = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", Text(port), backendA.Channel]);
        Assert.True(first.ExitCode == 0, first.ToString());

        var second = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", Text(port), backendB.Channel]);
        Assert.Equal(ExitCodes.OsError, second.ExitCode);
        Assert.Contains(Text(port), second.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", second.Error, StringComparison.Ordinal);

        Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));
        Assert.Single(segments.LiveProcesses());
        var show = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", Text(port)]);
        Assert.Contains(Text(backendA.Port), show.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Text(backendB.Port), show.Output, StringComparison.Ordinal);
    }

    private async Task AssertNothingRunsAsync()
    {
        Assert.True(await Loopback.EventuallyAsync(() => segments.LiveProcesses().Count == 0, Wait), "a background process is still running");
        Assert.Empty(Directory.GetFiles(segments.Path, "*.seg"));
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static bool EngineAccepts(int port) => Balance.Tests.Reliability.EngineChild.Accepts(port);

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, Text(pid)]);
        kill.WaitForExit(5000);
    }
}
