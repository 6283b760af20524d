using Balance.Policies;
using Xunit;

namespace Balance.Tests.Policies;

/// <summary>Smooth weighted round robin alone: channels as plain values, the shared ticket as a plain variable.</summary>
public class WeightedRoundRobinPolicyTests
{
    public static TheoryData<int[]> WeightSets => new() { new[] { 5, 1, 1 }, new[] { 1, 2, 3, 4 }, new[] { 3, 2 }, new[] { 1, 1, 1 }, new[] { 256, 1, 7 }, new[] { 4, 6, 10 } };

    [Theory]
    [MemberData(nameof(WeightSets))]
    public void Follows_nginx_smooth_weighted_round_robin_step_for_step(int[] weights)
    {
        var policy = For(weights);
        var channels = Candidates(weights);
        var sequence = 0;
        var expected = NginxReference(weights, 3 * weights.Sum());
        var picks = expected.Select(_ => Pick(policy, channels, ref sequence)).ToArray();
        Assert.Equal(expected, picks);
    }

    [Fact]
    public void Follows_nginx_for_random_weights_with_repeats_and_zeros()
    {
        var random = new Random(16);
        for (var set = 0; set < 200; set++)
        {
            var weights = Enumerable.Range(0, random.Next(1, 13)).Select(_ => random.Next(0, 9)).ToArray();
            if (weights.Sum() == 0)
            {
                continue;
            }

            var policy = For(weights);
            var channels = Candidates(weights);
            var sequence = 0;
            var expected = NginxReference(weights, 2 * weights.Sum());
            Assert.Equal(expected, expected.Select(_ => Pick(policy, channels, ref sequence)).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(WeightSets))]
    public void Honours_weights_within_one_percent_over_100000_picks(int[] weights)
    {
        var counts = Count(For(weights), Candidates(weights), 100_000);
        var total = weights.Sum();
        for (var c = 0; c < weights.Length; c++)
        {
            var share = 100_000.0 * weights[c] / total;
            Assert.InRange(counts[c], share * 0.99, share * 1.01);
        }
    }

    [Theory]
    [MemberData(nameof(WeightSets))]
    public void Never_runs_one_channel_longer_than_its_weight_over_the_lightest(int[] weights)
    {
        var policy = For(weights);
        var channels = Candidates(weights);
        var sequence = 0;
        var limit = (int)Math.Ceiling((double)weights.Max() / weights.Min());
        var previous = -1;
        var run = 0;
        var longest = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var pick = Pick(policy, channels, ref sequence);
            run = pick == previous ? run + 1 : 1;
            previous = pick;
            longest = Math.Max(longest, run);
        }

        Assert.InRange(longest, 1, limit);
    }

    [Fact]
    public void A_weight_of_zero_takes_no_new_clients()
    {
        int[] weights = [2, 0, 1];
        var counts = Count(For(weights), Candidates(weights), 3000);
        Assert.Equal([2000, 0, 1000], counts);
        Assert.Equal(3, For(weights).Period);
    }

    [Fact]
    public void Unusable_channels_are_skipped_and_the_others_keep_exact_shares_among_themselves()
    {
        int[] weights = [5, 1, 3, 1];
        var channels = Candidates(weights);
        channels[0] = channels[0] with { Usable = false };
        var counts = Count(For(weights), channels, 5000);
        Assert.Equal([0, 1000, 3000, 1000], counts);
    }

    [Fact]
    public void Nothing_usable_offers_nothing_and_leaves_the_ticket()
    {
        int[] weights = [1, 1];
        var channels = Candidates(weights).Select(c => c with { Usable = false }).ToArray();
        var sequence = 1;
        var position = 0;
        var context = new PickContext(0, 0, ref position, ref sequence);
        Assert.Equal(-1, For(weights).Pick(channels, ref context));
        Assert.Equal(1, sequence);
    }

    [Fact]
    public void Concurrent_picks_on_a_shared_ticket_keep_exact_proportions()
    {
        int[] weights = [1, 2, 3, 4];
        var policy = For(weights);
        var channels = Candidates(weights);
        var counts = new int[4];
        var sequence = new int[1];
        var position = new int[1];
        Parallel.For(0, 100_000, _ =>
        {
            var context = new PickContext(0, 0, ref position[0], ref sequence[0]);
            Interlocked.Increment(ref counts[policy.Pick(channels, ref context)]);
        });
        Assert.Equal([10_000, 20_000, 30_000, 40_000], counts);
    }

    [Fact]
    public void A_ticket_out_of_range_starts_the_period_again()
    {
        int[] weights = [1, 1];
        var sequence = 99;
        Assert.Equal(0, Pick(For(weights), Candidates(weights), ref sequence));
        Assert.Equal(1, sequence);
    }

    [Fact]
    public void A_group_keeps_its_schedule_while_its_weights_stay_and_rebuilds_when_they_change()
    {
        var first = For([1, 2]);
        Assert.Same(first, WeightedRoundRobinPolicy.Instance.ForGroup(Candidates([1, 2]), first));
        var changed = WeightedRoundRobinPolicy.Instance.ForGroup(Candidates([1, 3]), first);
        Assert.NotSame(first, changed);
        Assert.Equal(4, ((WeightedRoundRobinPolicy)changed).Period);
    }

    [Fact]
    public void The_period_is_the_sum_of_the_weights_over_their_gcd()
    {
        Assert.Equal(10, For([4, 6, 10]).Period);
        Assert.Equal(0, WeightedRoundRobinPolicy.Instance.Period);
        Assert.Equal(0, For([0, 0]).Period);
    }

    [Fact]
    public void Picking_allocates_nothing()
    {
        int[] weights = [5, 1, 1];
        var policy = For(weights);
        var channels = Candidates(weights);
        var sequence = 0;
        Pick(policy, channels, ref sequence);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            sum += Pick(policy, channels, ref sequence);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(NginxReference(weights, 1001).Skip(1).Sum(), sum);
    }

    internal static WeightedRoundRobinPolicy For(int[] weights) =>
        (WeightedRoundRobinPolicy)WeightedRoundRobinPolicy.Instance.ForGroup(Candidates(weights), null);

    internal static ChannelCandidate[] Candidates(int[] weights) =>
        weights.Select((w, i) => new ChannelCandidate(i, i + 1, w, 0, w > 0)).ToArray();

    private static int Pick(IBalancingPolicy policy, ChannelCandidate[] channels, ref int sequence)
    {
        var position = 0;
        var context = new PickContext(0, 0, ref position, ref sequence);
        var pick = policy.Pick(channels, ref context);
        policy.Reserved(pick, channels.Length, ref context);
        return pick;
    }

    private static int[] Count(IBalancingPolicy policy, ChannelCandidate[] channels, int picks)
    {
        var counts = new int[channels.Length];
        var sequence = 0;
        for (var i = 0; i < picks; i++)
        {
            counts[Pick(policy, channels, ref sequence)]++;
        }

        return counts;
    }

    // ngx_http_upstream_get_peer as nginx writes it: add every weight, take the first largest, subtract the total (weight 0 is no peer).
    private static int[] NginxReference(int[] weights, int steps)
    {
        var current = new int[weights.Length];
        var total = weights.Sum();
        var picks = new int[steps];
        for (var s = 0; s < steps; s++)
        {
            var best = -1;
            for (var c = 0; c < weights.Length; c++)
            {
                if (weights[c] == 0)
                {
                    continue;
                }

                current[c] += weights[c];
                if (best < 0 || current[c] > current[best])
                {
                    best = c;
                }
            }

            current[best] -= total;
            picks[s] = best;
        }

        return picks;
    }
}
