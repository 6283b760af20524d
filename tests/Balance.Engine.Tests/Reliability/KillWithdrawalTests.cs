using System.Diagnostics;
using System.Globalization;
using Balance.Control;
using Balance.Shell;
using Balance.Tests.Infrastructure;
using Balance.Tests.Shell;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// A kill that timed out must not happen later by surprise: against a stopped (SIGSTOP) engine the
/// reply said "shutdown failed." and the engine stopped by itself on SIGCONT.
/// </summary>
public sealed class KillWithdrawalTests
{
    [Fact]
    public async Task A_kill_that_times_out_against_a_stopped_engine_is_withdrawn_and_the_engine_serves_on()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // SIGSTOP/SIGCONT.
        }

        await using var backend = TestBackend.Start("A");
        using var engine = await EngineChild.StartAsync([backend.Channel]);
        using var client = await OpenAsync(engine.Name);

        Signal("STOP", engine.Pid);
        string reply;
        try
        {
            reply = new ShellSession(client, TimeSpan.FromSeconds(1)).Run("kill", out var outcome);
            Assert.Equal(ShellOutcome.KillFailed, outcome);
        }
        finally
        {
            Signal("CONT", engine.Pid);
        }

        Assert.Contains("withdrawn", reply, StringComparison.Ordinal);
        Assert.Equal(KillRequest.None, Volatile.Read(ref client.Segment.Header.KillRequested));
        await Task.Delay(500); // many engine ticks
        Assert.False(engine.HasExited, "the engine stopped after the kill was reported failed");
        Assert.True(client.IsAlive);
        Assert.Equal("A", await LoopbackClient.GreetingAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, engine.Port)));
    }

    [Fact]
    public async Task A_kill_the_engine_took_but_did_not_finish_is_reported_pending_not_failed()
    {
        using var instance = new FakeInstance();
        var engine = Task.Run(async () =>
        {
            // An engine that takes the request and then needs longer than the client waits.
            while (Interlocked.CompareExchange(ref instance.Segment.Header.KillRequested, KillRequest.Taken, KillRequest.Asked) != KillRequest.Asked)
            {
                await Task.Delay(5);
            }
        });

        Assert.Equal(StopOutcome.Pending, instance.Client.Stop(TimeSpan.FromMilliseconds(300)));
        await engine.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(KillRequest.Taken, instance.Segment.Header.KillRequested);
        var reply = new ShellSession(instance.Client, TimeSpan.FromMilliseconds(100)).Run("kill");
        Assert.StartsWith("shutdown pending", reply, StringComparison.Ordinal);
    }

    /// <summary>The port accepts (into the backlog) before the segment is written: wait for a whole segment.</summary>
    private static async Task<ControlClient> OpenAsync(SegmentName name)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return ControlClient.Open(name);
            }
            catch (ControlException) when (attempt < 200)
            {
                await Task.Delay(25);
            }
        }
    }

    private static void Signal(string signal, int pid)
    {
        using var p = Process.Start("/bin/kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(p.WaitForExit(5_000));
    }
}
