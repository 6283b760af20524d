using System.Diagnostics;
using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Proxy;

public class FailoverTests
{
    /// <summary>True in the subclass that runs every test here on the runtime's socket operations instead of the engine's epoll loop.</summary>
    protected virtual bool RuntimeSockets => false;

    private BalanceEngine StartEngine(IEnumerable<string> words, Func<BalanceConfiguration, BalanceConfiguration>? adjust = null, EngineOutput? output = null) =>
        TestEngine.Start(words, c => (adjust ?? (x => x))(c) with { RuntimeSockets = RuntimeSockets }, output);

    private static string DeadChannel() => $"127.0.0.1:{FreePort.Next()}";

    [Fact]
    public async Task Refused_connects_fail_over_through_the_group_then_to_the_next_group_as_in_the_reference_trace()
    {
        await using var c = TestBackend.Start("C");
        await using var d = TestBackend.Start("D");
        var debug = new StringWriter();
        await using var engine = StartEngine(
            [DeadChannel(), DeadChannel(), "!", DeadChannel(), c.Channel, d.Channel],
            output: new EngineOutput { Debug = debug });
        using var control = engine.Control();
        var cursor = control.EventHead;

        Assert.Equal("C", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        Assert.Equal("D", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));

        var trace = debug.ToString().Split('\n').Where(l => l.StartsWith("trying", StringComparison.Ordinal) || l.StartsWith("connect from", StringComparison.Ordinal));
        Assert.Equal(
            new[]
            {
                "connect from 127.0.0.1 clilen=16",
                "trying group 0 channel 0 ... connection refused group 0 channel 0",
                "trying group 0 channel 1 ... connection refused group 0 channel 1",
                "trying group 1 channel 0 ... connection refused group 1 channel 0",
                "trying group 1 channel 1 ... connect to channel 1 successful",
                "connect from 127.0.0.1 clilen=16",
                "trying group 0 channel 1 ... connection refused group 0 channel 1",
                "trying group 0 channel 0 ... connection refused group 0 channel 0",
                "trying group 1 channel 2 ... connect to channel 2 successful",
            },
            trace);

        Assert.Equal(2, control.GetChannel(0, 0).Failures);
        Assert.Equal(2, control.GetChannel(0, 1).Failures);
        Assert.Equal(1, control.GetChannel(1, 0).Failures);
        Assert.Equal(0, control.GetChannel(0, 0).TotalConnections);
        Assert.Equal(1, control.GetChannel(1, 1).TotalConnections);
        Assert.Equal(1, control.GetChannel(1, 2).TotalConnections);
        await Eventually.TrueAsync(() => control.GetChannels(0).Concat(control.GetChannels(1)).All(ch => ch.Connections == 0), "connections back to 0");
        var events = control.ReadEvents(ref cursor);
        Assert.Equal(5, events.Count(e => e.Kind == EngineEventKind.ConnectFailed));
        Assert.Equal(5, events.Count(e => e.Kind == EngineEventKind.Failover));
    }

    [Fact]
    public async Task A_silent_back_end_times_out_and_the_next_channel_serves()
    {
        using var silent = await SilentEndpoint.StartAsync();
        await using var b = TestBackend.Start("B");
        var debug = new StringWriter();
        await using var engine = StartEngine(
            [silent.Channel, b.Channel],
            c => c with { ConnectTimeout = TimeSpan.FromSeconds(1) },
            new EngineOutput { Debug = debug });

        var watch = Stopwatch.StartNew();
        Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        watch.Stop();
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(6));
        Assert.Contains("trying group 0 channel 0 ... timeout group 0 channel 0", debug.ToString().Split('\n'));
        using var control = engine.Control();
        Assert.Equal(1, control.GetChannel(0, 0).Failures);
        Assert.Equal(0, control.GetChannel(0, 0).Connections);
    }

    [Fact]
    public async Task Failover_into_the_next_group_skips_disabled_and_full_channels()
    {
        await using var x = TestBackend.Start("X");
        await using var y = TestBackend.Start("Y");
        await using var z = TestBackend.Start("Z");
        await using var engine = StartEngine([DeadChannel(), "!", x.Channel, y.Channel + ":1", z.Channel]);
        using var control = engine.Control();

        // Fill Y (maxc 1) with a held session while the dead channel and X are out of the way.
        control.Disable(0, 0);
        control.Disable(1, 0);
        using var held = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        Assert.Equal("Y", await held.ReadLineAsync());
        control.Enable(0, 0);

        // Dead channel refuses; group 1 position is at Z, so force the scan to start at X.
        control.Segment.Group(1).RoundRobinPosition = 0;
        Assert.Equal("Z", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        Assert.Equal(0, x.Accepted);
        Assert.Equal(1, y.Accepted);
        Assert.Equal(1, control.GetChannel(0, 0).Failures);
        Assert.Equal(1, control.GetChannel(1, 1).Connections);
    }

    [Fact]
    public async Task Autodisable_switches_a_failed_channel_off_and_says_so()
    {
        await using var b = TestBackend.Start("B");
        var notices = new StringWriter();
        var dead = DeadChannel();
        await using var engine = StartEngine([dead, b.Channel], c => c with { AutoDisable = true }, new EngineOutput { Notices = notices });
        using var control = engine.Control();
        var cursor = control.EventHead;

        Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        Assert.False(control.GetChannel(0, 0).Enabled);
        Assert.Equal(
            $"connection failed group 0 channel 0\n{dead} needs to be enabled manually using balance -i after the problem is solved\n",
            notices.ToString().ReplaceLineEndings("\n"));
        Assert.Contains(control.ReadEvents(ref cursor), e => e.Kind == EngineEventKind.AutoDisabled && e.Group == 0 && e.Channel == 0);

        // No more attempts on the disabled channel.
        Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        Assert.Equal(1, control.GetChannel(0, 0).Failures);
    }

    [Fact]
    public async Task Without_autodisable_a_dead_channel_is_retried_every_round()
    {
        await using var b = TestBackend.Start("B");
        await using var engine = StartEngine([DeadChannel(), b.Channel]);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        using var control = engine.Control();
        Assert.True(control.GetChannel(0, 0).Enabled);

        // Every client starts at the dead channel: success on B moves the position back to it.
        Assert.Equal(4, control.GetChannel(0, 0).Failures);
        Assert.Equal(4, control.GetChannel(0, 1).TotalConnections);
    }

    [Fact]
    public async Task Hash_failover_scans_the_hash_group_after_a_failed_connect()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var c = TestBackend.Start("C");

        // 127.0.0.1 hashes to channel 2 of 3: the dead one.
        string[] words = [a.Channel, b.Channel, DeadChannel(), "%", c.Channel];
        await using (var plain = StartEngine(words))
        {
            Assert.Equal("C", await LoopbackClient.GreetingAsync(plain.LocalEndPoint));
        }

        await using var withFailover = StartEngine(words, cfg => cfg with { HashFailover = true });
        Assert.Equal("A", await LoopbackClient.GreetingAsync(withFailover.LocalEndPoint));
    }

    [Fact]
    public async Task Hash_failover_takes_the_next_usable_channel_when_the_hashed_one_is_disabled()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var c = TestBackend.Start("C");
        await using var d = TestBackend.Start("D");
        await using var engine = StartEngine([a.Channel, b.Channel, c.Channel, "%", d.Channel], cfg => cfg with { HashFailover = true });
        using var control = engine.Control();
        control.Disable(0, 2);
        control.Disable(0, 0);
        Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        control.Disable(0, 1);
        Assert.Equal("D", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
    }

    [Fact]
    public async Task Everything_failing_closes_the_client_without_data_and_releases_every_slot()
    {
        await using var engine = StartEngine([DeadChannel(), "!", DeadChannel()]);
        using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        Assert.Empty(await client.ReadToEndAsync());
        using var control = engine.Control();
        Assert.Equal(1, control.GetChannel(0, 0).Failures);
        Assert.Equal(1, control.GetChannel(1, 0).Failures);
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Connections == 0 && control.GetChannel(1, 0).Connections == 0, "slots released");
        Assert.Equal(1, control.GetInstance().Rejected);
    }

    [Fact]
    public async Task Outgoing_connections_use_the_B_source_address()
    {
        await using var a = TestBackend.Start("A");
        await using var engine = StartEngine([a.Channel], c => c with { OutboundAddress = "127.0.0.2" });
        Assert.Equal("A", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        Assert.Equal(IPAddress.Parse("127.0.0.2"), Assert.Single(a.Peers).Address);
    }
}

/// <summary>The same tests on the runtime's asynchronous socket operations (other systems, <c>BALANCE_IO=runtime</c>).</summary>
public sealed class FailoverOnRuntimeSocketsTests : FailoverTests
{
    protected override bool RuntimeSockets => true;
}
