using System.Diagnostics;
using System.Net.Sockets;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>Runs alone: it keeps this process's thread pool busy, which would slow every test beside it.</summary>
[CollectionDefinition(nameof(BusyPoolCollection), DisableParallelization = true)]
public sealed class BusyPoolCollection;

/// <summary>
/// An engine hosted in a process whose thread pool is busy (a PowerShell session running other
/// jobs, a test host) still stops on time: the stop has a thread of its own and the sessions it
/// aborts unwind on the epoll loop's thread, so no step waits for a pool worker.
/// </summary>
[Collection(nameof(BusyPoolCollection))]
public sealed class StopUnderBusyPoolTests
{
    [Fact]
    public async Task A_stop_ends_within_its_grace_while_every_pool_worker_is_blocked()
    {
        await using var echo = TestBackend.Start("E", BackendMode.Echo);
        var grace = TimeSpan.FromSeconds(1);
        await using var engine = TestEngine.Start([echo.Channel], c => c with { GracePeriod = grace });
        if (!engine.OnLoop)
        {
            return; // without the loop, aborted runtime operations end on the pool by design
        }

        var clients = new List<Socket>();
        const int blockers = 256;
        var started = 0;
        var finished = 0;

        // Disposed only once every blocked item is over: one still queued would meet a disposed gate.
        var release = new ManualResetEventSlim(false);
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
                clients.Add(client);
                await client.SendAllAsync("hi\n");
                Assert.Equal("hi", await client.ReadLineAsync());
            }

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
            SleepUntil(() => stop.IsCompleted, grace + TimeSpan.FromSeconds(8));
            var took = watch.Elapsed;
            var busy = Volatile.Read(ref started);
            release.Set();

            Assert.True(stop.IsCompleted, $"the stop had not ended {took.TotalSeconds:F1} s after it began ({grace.TotalSeconds} s grace, {busy} pool workers blocked)");
            await stop;

            // Sessions kept through the grace (the clients never left), then closed: well inside
            // the bound, where a stop that needed the pool would have waited for the release.
            Assert.InRange(took, grace - TimeSpan.FromMilliseconds(100), grace + TimeSpan.FromSeconds(3));
            foreach (var c in clients)
            {
                Assert.True(await IsClosedAsync(c), "a client's session was not closed");
            }
        }
        finally
        {
            release.Set();
            foreach (var c in clients)
            {
                c.Dispose();
            }

            if (await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref finished) == blockers), TimeSpan.FromSeconds(30)))
            {
                release.Dispose();
            }
        }
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
