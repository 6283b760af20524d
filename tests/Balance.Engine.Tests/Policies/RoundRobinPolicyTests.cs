using Balance.Policies;
using Xunit;

namespace Balance.Tests.Policies;

/// <summary>Round robin alone: channels as plain values, the shared position as a plain variable.</summary>
public class RoundRobinPolicyTests
{
    private static readonly RoundRobinPolicy Policy = RoundRobinPolicy.Instance;

    [Fact]
    public void Picks_in_order_from_the_shared_position_and_wraps()
    {
        var channels = Channels(true, true, true);
        var position = 0;
        var picks = Enumerable.Range(0, 5).Select(_ => PickAndReserve(channels, ref position)).ToArray();
        Assert.Equal([0, 1, 2, 0, 1], picks);
        Assert.Equal(2, position);
    }

    [Fact]
    public void Skips_unusable_channels_and_moves_the_position_past_the_one_it_took()
    {
        var channels = Channels(true, false, false, true);
        var position = 1;
        Assert.Equal(3, PickAndReserve(channels, ref position));
        Assert.Equal(0, position);
        Assert.Equal(0, PickAndReserve(channels, ref position));
        Assert.Equal(1, position);
    }

    [Fact]
    public void Nothing_usable_leaves_the_position_where_it_was()
    {
        var channels = Channels(false, false);
        var position = 1;
        var context = new PickContext(0, ref position);
        Assert.Equal(-1, Policy.Pick(channels, ref context));
        Policy.NothingReserved(channels.Length, ref context);
        Assert.Equal(1, position);
    }

    [Fact]
    public void A_position_out_of_range_starts_at_the_first_channel()
    {
        var channels = Channels(true, true);
        var position = 17;
        Assert.Equal(0, PickAndReserve(channels, ref position));
        Assert.Equal(1, position);
    }

    [Fact]
    public void An_empty_group_offers_nothing()
    {
        var position = 0;
        var context = new PickContext(0, ref position);
        Assert.Equal(-1, Policy.Pick([], ref context));
    }

    [Fact]
    public void Concurrent_picks_on_a_shared_position_split_exactly_evenly()
    {
        var channels = Channels(true, true, true, true);
        var counts = new int[4];
        var holder = new int[1];
        Parallel.For(0, 40_000, _ =>
        {
            var context = new PickContext(0, ref holder[0]);
            var pick = Policy.Pick(channels, ref context);
            Policy.Reserved(pick, channels.Length, ref context);
            Interlocked.Increment(ref counts[pick]);
        });
        Assert.Equal([10_000, 10_000, 10_000, 10_000], counts);
        Assert.Equal(0, holder[0]);
    }

    [Fact]
    public void Scans_the_group_after_a_failure_whatever_the_hash_failover_option()
    {
        Assert.True(Policy.ScansGroup(hashFailover: false));
        Assert.True(Policy.ScansGroup(hashFailover: true));
    }

    private static int PickAndReserve(ChannelCandidate[] channels, ref int position)
    {
        var context = new PickContext(0, ref position);
        var pick = Policy.Pick(channels, ref context);
        Policy.Reserved(pick, channels.Length, ref context);
        return pick;
    }

    internal static ChannelCandidate[] Channels(params bool[] usable) =>
        usable.Select((u, i) => new ChannelCandidate(i, i + 1, 1, 0, u)).ToArray();
}
