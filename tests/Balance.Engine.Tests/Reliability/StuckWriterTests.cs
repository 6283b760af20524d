using System.Diagnostics;
using Balance.Control;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// A control client killed in the middle of <c>assign</c> leaves the channel's address seqlock odd.
/// Readers (the engine's connect path, other clients) must give up with an error, not spin forever,
/// and the next assign must repair it.
/// </summary>
public sealed class StuckWriterTests
{
    [Fact]
    public void A_half_written_address_is_refused_in_bounded_time_and_the_next_assign_repairs_it()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(0, "127.0.0.1", 9, enabled: false);
        instance.Segment.Record(0, 0).AddressVersion |= 1; // the writer died mid-write

        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<ControlException>(() => instance.Client.GetChannel(0, 0));
        Assert.Equal(ControlError.Corrupt, e.Error);
        Assert.Contains("assign it again", e.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");

        instance.Client.Assign(0, 0, "127.0.0.1", 10);
        Assert.Equal(10, instance.Client.GetChannel(0, 0).Port);
    }

    [Fact]
    public async Task The_engine_stays_up_and_serves_other_channels_while_one_address_is_half_written()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var engine = TestEngine.Start([a.Channel, b.Channel]);
        using var control = engine.Control();
        control.Segment.Record(0, 0).AddressVersion |= 1;

        var greetings = new List<string?>();
        for (var i = 0; i < 4; i++)
        {
            greetings.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Contains("B", greetings);
        Assert.DoesNotContain("A", greetings);

        control.Disable(0, 0);
        control.Assign(0, 0, "127.0.0.1", a.Port);
        control.Enable(0, 0);
        greetings.Clear();
        for (var i = 0; i < 4; i++)
        {
            greetings.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Contains("A", greetings);
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Connections == 0 && control.GetChannel(0, 1).Connections == 0, "all slots released");
    }
}
