using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.CommandLine;

/// <summary>The executable's <c>--takeover</c> between real processes: queued clients survive, failures leave the old process serving.</summary>
public sealed class TakeoverProcessTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly SegmentDirectory segments = new();
    private readonly TestBackend backend = TestBackend.Start("A");

    public void Dispose()
    {
        segments.Dispose();
        backend.Dispose();
    }

    [Fact]
    public async Task Clients_queued_while_the_old_process_is_stopped_are_all_served_across_the_takeover()
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        using var old = BalanceExecutable.Start(segments, ["-f", "--workers", "3", "-b", "127.0.0.1", Text(port), backend.Channel]);
        Assert.True(await Loopback.EventuallyAsync(() => old.Process.HasExited || File.Exists(name.Path), Wait), "no segment appeared");
        Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));

        // Stopped, the old process accepts nobody: these clients wait in the three sockets' queues.
        Signal(old.Process.Id, "STOP");
        var queued = new List<Socket>();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                queued.Add(await LoopbackClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)));
            }

            // One worker for three sockets: the new process must accept from every one of them.
            using var taker = BalanceExecutable.Start(segments, ["-f", "--workers", "1", "-b", "127.0.0.1", "--takeover", Text(port)]);
            Signal(old.Process.Id, "CONT");
            Assert.Equal(0, await old.WaitForExitAsync(Wait));
            Assert.False(taker.Process.HasExited, taker.Error);
            foreach (var client in queued)
            {
                Assert.Equal("A", await client.ReadLineAsync(Wait));
            }

            Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));
            Assert.True(File.Exists(name.Path), "the old process removed the name it handed over");
            var shown = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", Text(port)]);
            Assert.Equal(0, shown.ExitCode);
            Assert.Contains(backend.Port.ToString(CultureInfo.InvariantCulture), shown.Output, StringComparison.Ordinal);

            Signal(taker.Process.Id, "TERM");
            Assert.Equal(0, await taker.WaitForExitAsync(Wait));
            Assert.False(File.Exists(name.Path));
        }
        finally
        {
            Signal(old.Process.Id, "CONT");
            foreach (var client in queued)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_failed_takeover_exits_with_one_line_and_the_old_process_keeps_serving()
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        var nobody = await BalanceExecutable.RunAsync(segments, ["-f", "-b", "127.0.0.1", "--takeover", Text(port)]);
        Assert.Equal(ExitCodes.Unavailable, nobody.ExitCode);
        Assert.Contains("nothing to take over", nobody.Error, StringComparison.Ordinal);

        using var old = BalanceExecutable.Start(segments, ["-f", "-b", "127.0.0.1", Text(port), backend.Channel]);
        Assert.True(await Loopback.EventuallyAsync(() => old.Process.HasExited || File.Exists(name.Path), Wait), "no segment appeared");
        var withChannels = await BalanceExecutable.RunAsync(segments, ["-f", "-b", "127.0.0.1", "--takeover", Text(port), backend.Channel]);
        Assert.Equal(ExitCodes.Usage, withChannels.ExitCode);
        Assert.StartsWith("balance: unexpected channel [", withChannels.Error, StringComparison.Ordinal);
        var badOption = await BalanceExecutable.RunAsync(segments, ["-f", "-b", "127.0.0.1", "-t", "0", "--takeover", Text(port)]);
        Assert.Equal(ExitCodes.Usage, badOption.ExitCode);

        Assert.False(old.Process.HasExited, old.Error);
        Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));

        // Detached, the replacement reports its pid and the old process ends.
        var detached = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "--takeover", Text(port)]);
        Assert.Equal(0, detached.ExitCode);
        Assert.Matches("^balance: pid [0-9]+ took over 127\\.0\\.0\\.1:[0-9]+", detached.Output);
        Assert.Equal(0, await old.WaitForExitAsync(Wait));
        Assert.Equal("A", await Loopback.GreetingAsync(port, Wait));
        var stopped = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", Text(port)]);
        Assert.Equal(0, stopped.ExitCode);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, Text(pid)]);
        kill.WaitForExit(5000);
    }
}
