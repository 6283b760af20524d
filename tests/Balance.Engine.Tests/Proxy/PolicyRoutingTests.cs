using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Balance.Tests.Policies;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>The new policies through real sockets, clients bound to different 127.x.y.z source addresses.</summary>
public class PolicyRoutingTests
{
    private static readonly string[] Names = ["A", "B", "C", "D", "E"];

    [Fact]
    public async Task Maglev_sends_each_source_address_where_the_pure_policy_puts_its_strong_key()
    {
        await using var backends = Backends.Start(5);
        await using var engine = TestEngine.Start(backends.Channels);
        using var control = engine.Control();
        control.SetPolicy(0, PolicyCatalog.Maglev);
        var channels = Candidates(control);
        var policy = MaglevPolicy.Instance.ForGroup(channels, null);
        var seen = new HashSet<string>();
        foreach (var source in Sources(24))
        {
            var expected = Names[policy.Pick(channels, ClientHash.Key(source))];
            Assert.Equal(expected, await LoopbackClient.GreetingAsync(engine.LocalEndPoint, source));
            seen.Add(expected);
        }

        Assert.True(seen.Count >= 3, "24 source addresses reached fewer than 3 of 5 channels");
    }

    [Fact]
    public async Task Weights_given_on_the_command_line_reach_the_engine_and_wrr_honours_them()
    {
        await using var backends = Backends.Start(2);
        await using var engine = TestEngine.Start([backends[0].Channel + ":0:3", backends[1].Channel], Use(GroupType.WeightedRoundRobin));
        using var control = engine.Control();
        Assert.Equal([3, 1], control.GetChannels(0).Select(c => c.Weight));
        var names = new List<string?>();
        for (var i = 0; i < 8; i++)
        {
            names.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        // nginx's smooth sequence for 3:1.
        Assert.Equal(["A", "A", "B", "A", "A", "A", "B", "A"], names);
    }

    [Fact]
    public async Task Maglev_is_sticky_and_a_disabled_channel_moves_only_its_own_clients_who_come_back()
    {
        await using var backends = Backends.Start(5);
        await using var engine = TestEngine.Start(backends.Channels, Use(GroupType.Maglev));
        using var control = engine.Control();
        var sources = Sources(40).ToArray();
        var before = await MapAsync(engine, sources);
        Assert.Equal(before, await MapAsync(engine, sources));
        var removed = before.GroupBy(n => n).OrderByDescending(g => g.Count()).First().Key;
        control.Disable(0, Array.IndexOf(Names, removed));

        var during = await MapAsync(engine, sources);
        for (var i = 0; i < sources.Length; i++)
        {
            if (before[i] == removed)
            {
                Assert.NotEqual(removed, during[i]);
            }
            else
            {
                Assert.Equal(before[i], during[i]);
            }
        }

        control.Enable(0, Array.IndexOf(Names, removed));
        Assert.Equal(before, await MapAsync(engine, sources));
    }

    [Fact]
    public async Task Leastconn_picks_the_channel_with_the_fewest_live_sessions()
    {
        await using var backends = Backends.Start(3);
        await using var engine = TestEngine.Start(backends.Channels);
        using var control = engine.Control();
        var held = new List<(Socket Socket, string? Name)>();
        try
        {
            // Round robin first: A and B hold two sessions each, C one.
            foreach (var _ in Enumerable.Range(0, 5))
            {
                var socket = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
                held.Add((socket, await socket.ReadLineAsync()));
            }

            Assert.Equal(["A", "B", "C", "A", "B"], held.Select(h => h.Name));
            control.SetPolicy(0, PolicyCatalog.LeastConnections);
            var next = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
            held.Add((next, await next.ReadLineAsync()));
            Assert.Equal("C", held[^1].Name);

            // Now 2, 2, 2: one session of B ends, so B is the emptiest.
            held[1].Socket.Dispose();
            await Eventually.TrueAsync(() => control.GetChannel(0, 1).Connections == 1, "B's session released");
            Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }
        finally
        {
            foreach (var h in held)
            {
                h.Socket.Dispose();
            }
        }
    }

    [Theory]
    [InlineData(GroupType.WeightedRoundRobin)]
    [InlineData(GroupType.LeastConnections)]
    [InlineData(GroupType.Maglev)]
    public async Task Every_policy_skips_disabled_down_full_and_weight_0_channels_and_fails_over_to_the_next_group(GroupType type)
    {
        await using var backends = Backends.Start(4);
        await using var engine = TestEngine.Start([backends[0].Channel, backends[1].Channel, backends[2].Channel + ":1", "!", backends[3].Channel], Use(type));
        using var control = engine.Control();
        control.Disable(0, 0);
        control.Segment.Channel(0, 1).Health = ChannelHealth.Down;
        var sources = Sources(12).ToArray();

        // C is the one usable channel of group 0 until its one slot is taken.
        using (var first = await LoopbackClient.ConnectAsync(engine.LocalEndPoint, sources[0]))
        {
            Assert.Equal("C", await first.ReadLineAsync());
            Assert.All(await MapAsync(engine, sources[1..]), n => Assert.Equal("D", n));
        }

        await Eventually.TrueAsync(() => control.GetChannel(0, 2).Connections == 0, "C's slot released");
        Assert.Equal("C", await LoopbackClient.GreetingAsync(engine.LocalEndPoint, sources[1]));
        control.SetWeight(0, 2, 0);
        Assert.All(await MapAsync(engine, sources), n => Assert.Equal("D", n));
        Assert.Equal(0, backends[0].Accepted + backends[1].Accepted);
    }

    [Fact]
    public async Task A_maglev_group_reached_by_failover_after_a_failed_connect_keys_on_the_client_address()
    {
        await using var backends = Backends.Start(5);
        var dead = FreePort.Next();
        await using var engine = TestEngine.Start(["127.0.0.1:" + dead, "!", .. backends.Channels], Use(GroupType.Maglev));
        using var control = engine.Control();
        var channels = Candidates(control, 1);
        var policy = MaglevPolicy.Instance.ForGroup(channels, null);
        foreach (var source in Sources(12))
        {
            Assert.Equal(Names[policy.Pick(channels, ClientHash.Key(source))], await LoopbackClient.GreetingAsync(engine.LocalEndPoint, source));
        }
    }

    private static async Task<string?[]> MapAsync(BalanceEngine engine, IEnumerable<IPAddress> sources)
    {
        var names = new List<string?>();
        foreach (var source in sources)
        {
            names.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint, source));
        }

        return names.ToArray();
    }

    /// <summary>Every group of the configuration set to <paramref name="type"/>.</summary>
    internal static Func<BalanceConfiguration, BalanceConfiguration> Use(GroupType type) =>
        c => c with { Groups = c.Groups.Select(g => g with { Type = type }).ToArray() };

    /// <summary>127.1.y.z, z never 0 or 255.</summary>
    internal static IEnumerable<IPAddress> Sources(int count) =>
        Enumerable.Range(0, count).Select(i => new IPAddress([127, 1, (byte)(i / 250), (byte)((i % 250) + 1)]));

    /// <summary>The group's channels as the walk sees them with everything usable.</summary>
    internal static ChannelCandidate[] Candidates(ControlClient control, int group = 0) =>
        control.GetChannels(group).Select(c => new ChannelCandidate(c.Index, c.Id, c.Weight, 0, c.Weight > 0)).ToArray();

    /// <summary>Greeting back-ends named A, B, C, ...</summary>
    internal sealed class Backends : IAsyncDisposable
    {
        private readonly TestBackend[] all;

        private Backends(TestBackend[] all)
        {
            this.all = all;
        }

        public TestBackend this[int index] => all[index];

        public string[] Channels => all.Select(b => b.Channel).ToArray();

        public static Backends Start(int count) => new(Enumerable.Range(0, count).Select(i => TestBackend.Start(Names[i])).ToArray());

        public async ValueTask DisposeAsync()
        {
            foreach (var b in all)
            {
                await b.DisposeAsync();
            }
        }
    }
}
