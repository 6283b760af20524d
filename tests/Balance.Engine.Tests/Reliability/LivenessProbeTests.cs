using System.Globalization;
using Balance.Control;
using Balance.Tests.CommandLine;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Status queries (show, Get-BalanceInstance, every control client's open) test whether the owner
/// lock is held. A test that took the lock to find out made a starting engine see it held and
/// refuse to start ("another Balance instance ... already serves") after a SIGKILL.
/// </summary>
public sealed class LivenessProbeTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("balance-live-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Liveness_probes_running_all_the_time_never_make_a_start_fail()
    {
        var path = Path.Combine(directory, "x.seg.owner");
        File.WriteAllBytes(path, []); // what a SIGKILLed engine leaves
        using var stop = new CancellationTokenSource();
        var counts = new int[2];
        var probes = Enumerable.Range(0, 2).Select(i => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                FileLock.IsHeld(path);
                Interlocked.Increment(ref counts[i]);
            }
        })).ToArray();

        // The starts go on until both probes have run alongside them: on a loaded host the pool
        // may start the probe tasks only after a fixed number of starts is over.
        var refused = 0;
        var starts = 0;
        var deadline = Environment.TickCount64 + 10_000;
        try
        {
            while (starts < 2_000 || (counts.Min() <= 100 && Environment.TickCount64 < deadline))
            {
                using var owner = FileLock.TryAcquire(path);
                refused += owner is null ? 1 : 0;
                starts++;
            }
        }
        finally
        {
            stop.Cancel();
        }

        await Task.WhenAll(probes).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(counts, n => Assert.True(n > 100, $"only {n} probes ran"));
        Assert.Equal(0, refused);
    }

    [Fact]
    public async Task Restarts_after_SIGKILL_succeed_while_status_queries_run()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        await using var backend = TestBackend.Start("A");
        using var segments = new SegmentDirectory();
        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        using var stop = new CancellationTokenSource();
        var queries = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            // What a `balance -c show` loop does to the instance: open (which checks liveness), read, close.
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var client = ControlClient.Open(name);
                    client.GetInstance();
                }
                catch (ControlException)
                {
                    // Dead or starting: the query says so, and must not get in the start's way.
                }
            }
        })).ToArray();

        try
        {
            for (var start = 0; start < 10; start++)
            {
                using var engine = BalanceExecutable.Start(segments, ["-f", "-b", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), backend.Channel]);
                var up = await Loopback.EventuallyAsync(() => engine.Process.HasExited || OwnerPid(name) == engine.Process.Id, TimeSpan.FromSeconds(30));
                Assert.True(up && !engine.Process.HasExited, $"start {start} after SIGKILL failed: {engine.Error}");
                engine.Process.Kill(); // SIGKILL: the owner file and the segment's name stay behind
                await engine.Process.WaitForExitAsync();
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(queries);
        }
    }

    [Fact]
    public void A_probe_still_sees_a_live_owner_and_a_dead_one()
    {
        var path = Path.Combine(directory, "y.seg.owner");
        Assert.False(FileLock.IsHeld(path));
        using (var owner = FileLock.TryAcquire(path))
        {
            Assert.NotNull(owner);
            Assert.True(FileLock.IsHeld(path));
            Assert.Null(FileLock.TryAcquire(path));

            // The control byte is independent of the owner byte.
            using var control = FileLock.AcquireControl(path, TimeSpan.FromMilliseconds(50));
            Assert.NotNull(control);
            Assert.Null(FileLock.AcquireControl(path, TimeSpan.FromMilliseconds(50)));
            Assert.True(FileLock.IsHeld(path));
        }

        Assert.False(FileLock.IsHeld(path));
        Assert.True(File.Exists(path));
    }

    private static int OwnerPid(SegmentName name)
    {
        try
        {
            using var client = ControlClient.Open(name);
            return client.GetInstance().ProcessId;
        }
        catch (ControlException)
        {
            return 0;
        }
    }
}
