using System.Diagnostics;
using Balance.Control;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// A control client killed in the middle of <c>assign</c>, then <c>enable</c>: the channel's address
/// seqlock stays odd. That must cost that channel only: every client goes to the others at once
/// (the engine's loop never waits on the dead writer), the engine reports it once, and disable plus
/// assign repairs it.
/// </summary>
public sealed class TornAddressTests
{
    [Fact]
    public async Task A_torn_address_costs_its_channel_only_is_reported_once_and_assign_repairs_it()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        var notices = new StringWriter();
        await using var engine = TestEngine.Start([a.Channel, b.Channel], output: new EngineOutput { Notices = notices });
        using var control = engine.Control();
        var cursor = control.EventHead;
        control.Segment.Record(0, 0).AddressVersion |= 1; // the writer died mid-write; the channel stays enabled

        var watch = Stopwatch.StartNew();
        var greetings = new List<string?>();
        for (var i = 0; i < 20; i++)
        {
            greetings.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        watch.Stop();
        Assert.All(greetings, g => Assert.Equal("B", g)); // skipped, not failed: no client lost
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"20 clients took {watch.Elapsed}: the loop waited on the torn address");

        await Task.Delay(300); // several engine ticks
        var reports = control.ReadEvents(ref cursor).Where(e => e.Message.Contains("half-written", StringComparison.Ordinal)).ToArray();
        var report = Assert.Single(reports);
        Assert.Equal(0, report.Group);
        Assert.Equal(0, report.Channel);
        Assert.Contains("disable it and assign it again", report.Message, StringComparison.Ordinal);
        Assert.Single(notices.ToString().Split('\n'), l => l.Contains("half-written", StringComparison.Ordinal));

        control.Disable(0, 0);
        control.Assign(0, 0, "127.0.0.1", a.Port);
        control.Enable(0, 0);
        greetings.Clear();
        for (var i = 0; i < 4; i++)
        {
            greetings.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Contains("A", greetings);
        Assert.Equal(a.Port, control.GetChannel(0, 0).Port);
    }
}
