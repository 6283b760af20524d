using System.Net;
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
