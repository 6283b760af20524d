using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Tests.CommandLine;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>Faults that need the engine in its own process: its descriptors and memory are measured or exhausted there.</summary>
public sealed class ProcessFaultTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private const string Shortage = "the descriptor limit is reached";

    [Fact]
    public async Task Running_out_of_descriptors_is_survived_logged_once_and_recovered_from()
    {
        if (!EngineChild.CanLimit)
        {
            return;
        }

        await using var backend = TestBackend.Start("A", BackendMode.Greet);
        using var engine = await EngineChild.StartAsync([backend.Channel], openFiles: 160, options: ["-a"]);
        var endpoint = new IPEndPoint(IPAddress.Loopback, engine.Port);
        var clients = new List<Socket>();
        try
        {
            // Each session costs the engine two descriptors: well past the limit, and the kernel's
            // backlog still completes the handshakes the engine cannot accept.
            for (var i = 0; i < 150; i++)
            {
                clients.Add(await LoopbackClient.ConnectAsync(endpoint));
            }

            Assert.True(
                await Loopback.EventuallyAsync(() => engine.Error.Contains(Shortage, StringComparison.Ordinal), Wait),
                "the shortage was not logged:\n" + engine.Error);
            await Task.Delay(1500); // more clients and back-off rounds meanwhile: still one line per place
            Assert.False(engine.HasExited, engine.Error);
            Assert.True(Count(engine.Error, Shortage) == 1, engine.Error);
            Assert.DoesNotContain("cannot open a back-end socket", engine.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("connection failed", engine.Error, StringComparison.Ordinal);
            Assert.True(engine.OpenDescriptors() <= 160);
        }
        finally
        {
            foreach (var c in clients)
            {
                c.Dispose();
            }
        }

        // Descriptors free again: the engine serves, its channel was not blamed for the shortage.
        Assert.True(await Loopback.EventuallyAsync(async () => await Loopback.GreetingAsync(engine.Port, TimeSpan.FromSeconds(3)) == "A", Wait), engine.Error);
        var show = await engine.ControlAsync("show");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains(" ENA ", show.Output, StringComparison.Ordinal);
        Assert.False(engine.HasExited);
    }

    [Fact]
    public async Task A_client_that_stops_reading_gets_every_byte_later_and_the_engine_memory_stays_bounded()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        const long total = 256L * 1024 * 1024;
        await using var echo = TestBackend.Start("E", BackendMode.Echo);
        using var engine = await EngineChild.StartAsync([echo.Channel]);
        var before = engine.ResidentKiB();
        using var client = await LoopbackClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, engine.Port));

        long sent = 0;
        var sender = Task.Run(async () =>
        {
            var block = new byte[64 * 1024];
            while (sent < total)
            {
                Pattern.Fill(block, sent);
                var n = (int)Math.Min(block.Length, total - sent);
                await client.SendAllAsync(block.AsMemory(0, n), TimeSpan.FromSeconds(60));
                Interlocked.Add(ref sent, n);
            }

            client.Shutdown(SocketShutdown.Send);
        });

        // Nobody reads: the whole chain fills up and the sender stalls far short of the total.
        long stalledAt;
        do
        {
            stalledAt = Interlocked.Read(ref sent);
            await Task.Delay(700);
        }
        while (Interlocked.Read(ref sent) != stalledAt);
        // Loopback socket buffers autotune to several MiB each and the chain has eight of them
        // (plus the echo back-end's own), so the stall point varies around 40-70 MiB; the
        // engine's own share is what the RSS check below bounds.
        Assert.True(stalledAt < total / 2, $"sender never stalled ({stalledAt} bytes sent)");
        var stalledRss = engine.ResidentKiB();
        Assert.True(stalledRss - before < 64 * 1024, $"engine grew from {before} KiB to {stalledRss} KiB while the client did not read");

        // Now read everything: byte-exact, in order.
        var buffer = new byte[256 * 1024];
        long received = 0;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            var n = await client.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            if (n == 0)
            {
                break;
            }

            Assert.True(Pattern.Matches(buffer.AsSpan(0, n), received), $"corrupt byte near offset {received}");
            received += n;
        }

        await sender.WaitAsync(Wait);
        Assert.Equal(total, received);
        Assert.True(engine.ResidentKiB() - before < 64 * 1024, "engine memory grew during the transfer");
    }

    [Fact]
    public async Task Thousands_of_short_connections_leak_no_descriptor_and_no_memory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        await using var echo = TestBackend.Start("E", BackendMode.Echo);
        using var engine = await EngineChild.StartAsync([echo.Channel]);
        var endpoint = new IPEndPoint(IPAddress.Loopback, engine.Port);
        var payload = Encoding.ASCII.GetBytes("ping\n");

        async Task Round(int count)
        {
            using var gate = new SemaphoreSlim(32);
            await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                await gate.WaitAsync();
                try
                {
                    using var c = await LoopbackClient.ConnectAsync(endpoint);
                    await c.SendAllAsync(payload);
                    Assert.Equal("ping", await c.ReadLineAsync());
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Round(500); // warm-up: pools, JIT, thread pool
        await Loopback.EventuallyAsync(() => echo.Open == 0, Wait);
        // Sessions hold sockets and pipes; the runtime also maps an assembly file now and then
        // when it compiles a hot method again (System.Runtime.Intrinsics, seen in CI), which is
        // not a leak. The loop's epoll and eventfd, one each per engine, are not counted.
        int SessionDescriptors() => engine.DescriptorTargets().Count(t => t.Contains("->socket:", StringComparison.Ordinal) || t.Contains("->pipe:", StringComparison.Ordinal));
        var fds = SessionDescriptors();
        var targets = engine.DescriptorTargets();
        var rss = engine.ResidentKiB();

        await Round(3000);
        if (!await Loopback.EventuallyAsync(() => SessionDescriptors() <= fds, Wait))
        {
            var now = engine.DescriptorTargets();
            var show = (await engine.ControlAsync("show")).Output;
            Assert.Fail($"socket and pipe descriptors grew from {fds} to {SessionDescriptors()}; new: {string.Join(", ", now.Except(targets))}; gone: {string.Join(", ", targets.Except(now))}; back-end open {echo.Open}\n{show}");
        }

        Assert.True(engine.ResidentKiB() - rss < 32 * 1024, $"memory grew from {rss} KiB to {engine.ResidentKiB()} KiB over 3000 connections");
        var shown = await engine.ControlAsync("show");
        var row = shown.Output.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("0", row[6]); // c: nothing live
        Assert.Equal("3501", row[7]); // totalc: every session reached the back-end (+1: the start-up probe)
    }

    private static int Count(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}

/// <summary>A byte stream that depends only on the offset, so a reader can check any slice without keeping the data.</summary>
internal static class Pattern
{
    public static byte At(long offset) => (byte)((offset * 31) ^ (offset >> 11));

    public static void Fill(Span<byte> target, long offset)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] = At(offset + i);
        }
    }

    public static bool Matches(ReadOnlySpan<byte> data, long offset)
    {
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] != At(offset + i))
            {
                return false;
            }
        }

        return true;
    }
}
