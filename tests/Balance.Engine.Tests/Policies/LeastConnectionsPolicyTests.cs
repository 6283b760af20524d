using Balance.Policies;
using Xunit;

namespace Balance.Tests.Policies;

/// <summary>Least connections alone: live counts and weights as plain values, the shared position as a plain variable.</summary>
public class LeastConnectionsPolicyTests
{
    private static readonly LeastConnectionsPolicy Policy = LeastConnectionsPolicy.Instance;

    [Fact]
    public void Picks_the_channel_with_the_fewest_live_connections()
    {
        var channels = Channels((1, 4), (1, 2), (1, 7));
        var position = 0;
        Assert.Equal(1, PickAndReserve(channels, ref position));
    }

    [Fact]
    public void Counts_connections_relative_to_weight()
    {
        // Loads after taking the client: (3 + 1) / 1 = 4 against (8 + 1) / 3 = 3.
        var channels = Channels((1, 3), (3, 8));
        var position = 0;
        Assert.Equal(1, PickAndReserve(channels, ref position));
    }

    [Fact]
    public void An_idle_heavier_channel_comes_first()
    {
        var channels = Channels((1, 0), (4, 0));
        var position = 0;
        Assert.Equal(1, PickAndReserve(channels, ref position));
    }

    [Fact]
    public void Ties_go_round_robin_from_the_shared_position()
    {
        var channels = Channels((1, 2), (1, 5), (1, 2), (1, 2));
        var position = 0;
        var picks = Enumerable.Range(0, 7).Select(_ => PickAndReserve(channels, ref position)).ToArray();
        Assert.Equal([0, 2, 3, 0, 2, 3, 0], picks);
        Assert.Equal(1, position);
    }

    [Fact]
    public void Unusable_channels_are_never_picked_however_empty()
    {
        var channels = Channels((1, 0), (1, 9), (1, 3));
        channels[0] = channels[0] with { Usable = false };
        var position = 0;
        Assert.Equal(2, PickAndReserve(channels, ref position));
    }

    [Fact]
    public void Nothing_usable_offers_nothing()
    {
        var channels = Channels((1, 0)).Select(c => c with { Usable = false }).ToArray();
        var position = 0;
        var context = new PickContext(0, ref position);
        Assert.Equal(-1, Policy.Pick(channels, ref context));
        Assert.Equal(-1, Policy.Pick([], ref context));
    }

    [Fact]
    public void Concurrent_picks_over_equal_counts_split_exactly_evenly()
    {
        var channels = Channels((1, 3), (1, 3), (1, 3), (1, 3));
        var counts = new int[4];
        var holder = new int[1];
        Parallel.For(0, 40_000, _ =>
        {
            var context = new PickContext(0, ref holder[0]);
            Interlocked.Increment(ref counts[Policy.Pick(channels, ref context)]);
        });
        Assert.Equal([10_000, 10_000, 10_000, 10_000], counts);
    }

    [Fact]
    public void A_channel_the_walk_scanned_to_moves_the_position_past_it()
    {
        var channels = Channels((1, 0), (1, 0), (1, 0));
        var position = 0;
        var context = new PickContext(0, ref position);
        Assert.Equal(0, Policy.Pick(channels, ref context));
        Policy.Reserved(2, channels.Length, ref context);
        Assert.Equal(0, position);
    }

    [Fact]
    public void Hostile_counts_and_weights_still_pick_inside_the_group()
    {
        // Read as weight 1 and count 0, channel 1 carries 1 / 1 against 2^31 / (2^31 - 1) and 2 / 1.
        var channels = Channels((int.MaxValue, int.MaxValue), (0, -5), (-3, 1));
        var position = 0;
        Assert.Equal(1, PickAndReserve(channels, ref position));
    }

    private static int PickAndReserve(ChannelCandidate[] channels, ref int position)
    {
        var context = new PickContext(0, ref position);
        var pick = Policy.Pick(channels, ref context);
        Policy.Reserved(pick, channels.Length, ref context);
        return pick;
    }

    private static ChannelCandidate[] Channels(params (int Weight, int Connections)[] channels) =>
        channels.Select((c, i) => new ChannelCandidate(i, i + 1, c.Weight, c.Connections, true)).ToArray();
}
