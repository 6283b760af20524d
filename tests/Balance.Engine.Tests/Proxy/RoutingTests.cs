using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Proxy;

public class RoutingTests
{
    [Fact]
    public async Task Round_robin_serves_channels_in_order()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var c = TestBackend.Start("C");
        await using var engine = TestEngine.Start([a.Channel, b.Channel, c.Channel]);
        var names = new List<string?>();
        for (var i = 0; i < 7; i++)
        {
            names.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Equal(new[] { "A", "B", "C", "A", "B", "C", "A" }, names);
    }

    [Fact]
    public async Task Nothing_usable_means_accepted_then_closed_without_data()
    {
        await using var a = TestBackend.Start("A");
        await using var engine = TestEngine.Start([a.Channel]);
        using var control = engine.Control();
        control.Disable(0, 0);
        var cursor = control.EventHead;

        using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        Assert.Empty(await client.ReadToEndAsync());
        Assert.Equal(0, a.Accepted);
        var instance = control.GetInstance();
        Assert.Equal(1, instance.Accepted);
        Assert.Equal(1, instance.Rejected);
        Assert.Contains(control.ReadEvents(ref cursor), e => e.Kind == EngineEventKind.NoChannel);
    }

    [Fact]
    public async Task Maxc_is_exact_under_a_burst_of_parallel_clients()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var engine = TestEngine.Start([a.Channel + ":5", "!", b.Channel]);
        var clients = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            var s = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
            return (Socket: s, Name: await s.ReadLineAsync());
        }));
        try
        {
            Assert.Equal(5, clients.Count(x => x.Name == "A"));
            Assert.Equal(35, clients.Count(x => x.Name == "B"));
            Assert.Equal(5, a.Accepted);
            using var control = engine.Control();
            Assert.Equal(5, control.GetChannel(0, 0).Connections);
            Assert.Equal(35, control.GetChannel(1, 0).Connections);
        }
        finally
        {
            foreach (var x in clients)
            {
                x.Socket.Dispose();
            }
        }

        using var after = engine.Control();
        await Eventually.TrueAsync(() => after.GetChannel(0, 0).Connections == 0 && after.GetChannel(1, 0).Connections == 0, "connections back to 0");

        // A freed slot is used again.
        Assert.Equal("A", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
    }

    [Fact]
    public async Task A_policy_change_reaches_the_running_engine_through_the_change_version()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var c = TestBackend.Start("C");
        await using var engine = TestEngine.Start([a.Channel, b.Channel, c.Channel]);
        using var control = engine.Control();
        Assert.Equal("A", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));

        // 127.0.0.1 hashes to channel 2 of 3; round robin would go on with B.
        control.SetGroupType(0, GroupType.Hash);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("C", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }
    }

    [Fact]
    public async Task Draining_and_down_channels_get_no_new_sessions()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var c = TestBackend.Start("C");
        await using var engine = TestEngine.Start([a.Channel, b.Channel, c.Channel]);
        using var control = engine.Control();
        control.SetAdminState(0, 0, ChannelAdminState.Draining);
        control.Segment.Channel(0, 1).Health = ChannelHealth.Down;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("C", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Equal(3, control.GetChannel(0, 2).TotalConnections);
    }

    [Fact]
    public async Task Hash_group_sends_each_source_address_to_its_hashed_channel_and_sticks()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var c = TestBackend.Start("C");
        await using var engine = TestEngine.Start([a.Channel, b.Channel, c.Channel, "%"]);
        var names = new[] { "A", "B", "C" };
        var seen = new HashSet<string>();
        for (var i = 1; i <= 16; i++)
        {
            var source = IPAddress.Parse($"127.0.0.{i}");
            var expected = names[ClientHash.Compute(source) % 3];
            for (var round = 0; round < 2; round++)
            {
                Assert.Equal(expected, await LoopbackClient.GreetingAsync(engine.LocalEndPoint, source));
            }

            seen.Add(expected);
        }

        Assert.True(seen.Count > 1, "16 source addresses all hashed to one channel");
    }

    [Fact]
    public async Task Hash_of_an_IPv6_client_matches_the_reference_value()
    {
        var backends = Enumerable.Range(0, 5).Select(i => TestBackend.Start("N" + i)).ToArray();
        try
        {
            var words = backends.Select(b => b.Channel).Append("%").ToArray();
            await using var engine = TestEngine.Start(port => TestEngine.Configuration(port, words) with { BindAddress = "::1" });

            // ::1 folds to 4001564289; modulo 5 gives 4.
            Assert.Equal("N4", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
            Assert.Equal("N4", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }
        finally
        {
            foreach (var b in backends)
            {
                await b.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Dual_stack_listener_serves_IPv4_and_IPv6_clients()
    {
        await using var a = TestBackend.Start("A");
        await using var engine = TestEngine.Start(port => TestEngine.Configuration(port, a.Channel) with { BindAddress = null, IPv6 = true });
        Assert.Equal("::", engine.Name.NormalizedAddress);
        Assert.Equal("A", await LoopbackClient.GreetingAsync(new IPEndPoint(IPAddress.Loopback, engine.LocalEndPoint.Port)));
        Assert.Equal("A", await LoopbackClient.GreetingAsync(new IPEndPoint(IPAddress.IPv6Loopback, engine.LocalEndPoint.Port)));
    }

    [Fact]
    public async Task Hash_client_on_an_IPv4_listener_folds_its_real_address()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var c = TestBackend.Start("C");
        var debug = new StringWriter();
        await using var engine = TestEngine.Start([a.Channel, b.Channel, c.Channel, "%"], output: new EngineOutput { Debug = debug });

        // 127.0.0.1 folds like ::ffff:127.0.0.1 = 3231995906; modulo 3 gives 2.
        Assert.Equal("C", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        var lines = debug.ToString().Split('\n');
        Assert.Contains("connect from 127.0.0.1 clilen=16", lines);
        Assert.Contains("HASH-method: fold returns 3231995906", lines);
        Assert.Contains("modulo 3 gives 2", lines);
    }
}
