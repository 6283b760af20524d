using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>Runs alone: it keeps this process's thread pool busy, which would slow every test beside it.</summary>
[CollectionDefinition(nameof(BusyPoolCollection), DisableParallelization = true)]
public sealed class BusyPoolCollection;

/// <summary>
/// An engine hosted in a process whose thread pool is busy (a PowerShell session running other
/// jobs, a test host) still stops on time: the stop has a thread of its own, and the sessions it
/// aborts unwind on the epoll loop's thread, bulk directions that yielded included, so no step
/// waits for a pool worker.
/// </summary>
[Collection(nameof(BusyPoolCollection))]
public sealed class StopUnderBusyPoolTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_stop_ends_within_its_grace_while_every_pool_worker_is_blocked()
    {
        await using var echo = TestBackend.Start("E", BackendMode.Echo);
        await using var engine = TestEngine.Start([echo.Channel], c => c with { GracePeriod = Grace });
        if (!engine.OnLoop)
        {
            return; // without the loop, aborted runtime operations end on the pool by design
        }

        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
                clients.Add(client);
                await client.SendAllAsync("hi\n");
                Assert.Equal("hi", await client.ReadLineAsync());
            }

            await StopWithThePoolBlockedAsync(engine);
            foreach (var c in clients)
            {
                Assert.True(await IsClosedAsync(c), "a client's session was not closed");
            }
        }
        finally
        {
            foreach (var c in clients)
            {
                c.Dispose();
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stop_ends_within_its_grace_with_a_bulk_upload_under_way_while_every_pool_worker_is_blocked(bool splice)
    {
        // A bulk direction lets others run every 2 MiB, spliced or copied; one that went on only
        // on a pool worker would be stuck there, and the stop would wait for it. Client and
        // back-end here block on threads of their own, so they keep the upload going without
        // the pool.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using var engine = TestEngine.Start([$"127.0.0.1:{port}"], c => c with { GracePeriod = Grace });
        var pipes = engine.Pipes;
        if (!engine.OnLoop || (splice && pipes is null))
        {
            return;
        }

        if (!splice)
        {
            pipes?.Disable(); // every direction copies
        }

        long received = 0;
        var backend = StartThread(() =>
        {
            try
            {
                using var peer = listener.Accept();
                var buffer = new byte[256 * 1024];
                int n;
                while ((n = peer.Receive(buffer)) > 0)
                {
                    Interlocked.Add(ref received, n);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // the engine closed the session, or the test ended before it connected
            }
        });

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(engine.LocalEndPoint);
        var uploader = StartThread(() =>
        {
            var chunk = new byte[1024 * 1024];
            try
            {
                while (true)
                {
                    client.Send(chunk);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // the engine closed the session
            }
        });

        SleepUntil(() => Interlocked.Read(ref received) > 16 * 1024 * 1024, TimeSpan.FromSeconds(10));
        Assert.True(Interlocked.Read(ref received) > 16 * 1024 * 1024, "the upload did not get going");
        Assert.Equal(splice, pipes is not null && pipes.Rentals > 0);

        await StopWithThePoolBlockedAsync(engine);
        Assert.True(backend.Join(TimeSpan.FromSeconds(5)), "the back-end side was not closed");
        client.Dispose();
        Assert.True(uploader.Join(TimeSpan.FromSeconds(5)), "the uploader did not end");
    }

    /// <summary>
    /// Blocks every pool worker, stops the engine and checks that the stop ended after the grace
    /// and well before the release, then releases the pool.
    /// </summary>
    private static async Task StopWithThePoolBlockedAsync(BalanceEngine engine)
    {
        const int blockers = 256;
        var started = 0;
        var finished = 0;

        // Disposed only once every blocked item is over: one still queued would meet a disposed gate.
        var release = new ManualResetEventSlim(false);
        try
        {
            // More blocked work items than the pool will have threads while this runs: every
            // worker it has, or adds for the starvation, takes one and blocks on it.
            for (var i = 0; i < blockers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(
                    gate =>
                    {
                        Interlocked.Increment(ref started);
                        gate.Wait(TimeSpan.FromSeconds(30));
                        Interlocked.Increment(ref finished);
                    },
                    release,
                    preferLocal: false);
            }

            // From here on this thread only blocks: an await would need a pool worker to go on.
            SleepUntil(() => Volatile.Read(ref started) >= Environment.ProcessorCount, TimeSpan.FromSeconds(5));
            var watch = Stopwatch.StartNew();
            var stop = engine.StopAsync();
            SleepUntil(() => stop.IsCompleted, Grace + TimeSpan.FromSeconds(8));
            var took = watch.Elapsed;
            var busy = Volatile.Read(ref started);
            release.Set();

            Assert.True(stop.IsCompleted, $"the stop had not ended {took.TotalSeconds:F1} s after it began ({Grace.TotalSeconds} s grace, {busy} pool workers blocked)");
            await stop;

            // Sessions kept through the grace (the clients never left), then closed: well inside
            // the bound, where a stop that needed the pool would have waited for the release
            // (or for the 5 s it gives aborted sessions to unwind).
            Assert.InRange(took, Grace - TimeSpan.FromMilliseconds(100), Grace + TimeSpan.FromSeconds(3));
        }
        finally
        {
            release.Set();
            if (await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref finished) == blockers), TimeSpan.FromSeconds(30)))
            {
                release.Dispose();
            }
        }
    }

    private static Thread StartThread(Action body)
    {
        var thread = new Thread(() => body()) { IsBackground = true };
        thread.Start();
        return thread;
    }

    /// <summary>Polls with sleeps, not spins: the engine under test shares the two cores.</summary>
    private static void SleepUntil(Func<bool> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!condition() && watch.Elapsed < timeout)
        {
            Thread.Sleep(10);
        }
    }

    private static async Task<bool> IsClosedAsync(Socket client)
    {
        try
        {
            return await client.ReceiveAsync(new byte[16]).WaitAsync(TimeSpan.FromSeconds(5)) == 0;
        }
        catch (SocketException)
        {
            return true; // reset: closed as well
        }
    }
}
