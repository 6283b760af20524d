using System.Buffers.Binary;
using System.Net;
using Balance.Policies;
using Xunit;

namespace Balance.Tests.Policies;

/// <summary>Maglev alone: 100,000 client addresses over channels given as plain values.</summary>
public class MaglevPolicyTests
{
    private const int Clients = 100_000;

    private static readonly ulong[] Keys = Enumerable.Range(0, Clients).Select(i => ClientHash.Key(Address(i))).ToArray();

    [Fact]
    public void Five_channels_each_get_their_share_within_two_percent()
    {
        var channels = Channels(1, 1, 1, 1, 1);
        var counts = Count(Map(For(channels), channels), 5);
        foreach (var count in counts)
        {
            Assert.InRange(count, Clients / 5 * 0.98, Clients / 5 * 1.02);
        }
    }

    [Fact]
    public void Weighted_channels_each_get_their_weight_share_within_two_percent()
    {
        var channels = Channels(1, 2, 3, 2, 2);
        var counts = Count(Map(For(channels), channels), 5);
        for (var c = 0; c < 5; c++)
        {
            var share = (double)Clients * channels[c].Weight / 10;
            Assert.InRange(counts[c], share * 0.98, share * 1.02);
        }
    }

    [Fact]
    public void The_table_holds_each_weight_share_within_a_tenth_of_a_percent()
    {
        var channels = Channels(1, 2, 3, 4, 5, 1, 256);
        var policy = For(channels);
        var slots = Count(Enumerable.Range(0, policy.TableSize).Select(s => policy.Pick(channels, s)).ToArray(), channels.Length);
        var total = channels.Sum(c => c.Weight);
        for (var c = 0; c < channels.Length; c++)
        {
            var share = (double)policy.TableSize * channels[c].Weight / total;
            Assert.InRange(slots[c], (share * 0.999) - 1, (share * 1.001) + 1);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void Removing_a_channel_moves_only_its_clients_and_adding_it_back_restores_every_client(int removed)
    {
        var channels = Channels(1, 1, 1, 1, 1);
        var policy = For(channels);
        var before = Map(policy, channels);

        var without = channels.ToArray();
        without[removed] = without[removed] with { Usable = false };
        var after = Map(policy, without);
        for (var i = 0; i < Clients; i++)
        {
            if (before[i] != removed)
            {
                Assert.Equal(before[i], after[i]);
            }
        }

        // Its clients spread over the other four in proportion (a quarter each, within 5 %).
        var moved = Count(after.Where((_, i) => before[i] == removed).ToArray(), 5);
        var each = moved.Sum() / 4.0;
        Assert.Equal(0, moved[removed]);
        Assert.All(moved.Where((_, c) => c != removed), n => Assert.InRange(n, each * 0.95, each * 1.05));

        Assert.Equal(before, Map(policy, channels));
    }

    [Fact]
    public void A_weight_of_zero_moves_only_that_channels_clients()
    {
        var channels = Channels(1, 1, 1, 1, 1);
        var before = Map(For(channels), channels);
        var drained = channels.ToArray();
        drained[3] = drained[3] with { Weight = 0, Usable = false };
        var policy = For(drained);
        var after = Map(policy, drained);
        Assert.True(Enumerable.Range(0, Clients).All(i => before[i] == 3 ? after[i] != 3 : after[i] == before[i]));
    }

    [Fact]
    public void Two_instances_with_the_same_channel_list_agree_on_every_client_whatever_the_positions_and_history()
    {
        var channels = Channels(1, 2, 1, 3, 1);
        var first = For(channels);

        // The second holds the channels in another order and was rebuilt through a removal on its way.
        var shuffled = new[] { channels[3], channels[0], channels[4], channels[2], channels[1] }.Select((c, i) => c with { Index = i }).ToArray();
        var second = MaglevPolicy.Instance.ForGroup(shuffled[..4], null);
        second = MaglevPolicy.Instance.ForGroup(shuffled, second);

        var byFirst = Map(first, channels).Select(c => channels[c].Id).ToArray();
        var bySecond = Map(second, shuffled).Select(c => shuffled[c].Id).ToArray();
        Assert.Equal(byFirst, bySecond);
    }

    [Fact]
    public void The_mapping_is_the_same_in_every_process()
    {
        // Fixed constants only: a per-process seed would change these between test runs.
        var channels = Channels(1, 1, 1, 1, 1);
        var policy = For(channels);
        var ids = new[] { "192.0.2.1", "192.0.2.2", "198.51.100.7", "2001:db8::1", "10.1.2.3" }
            .Select(a => channels[policy.Pick(channels, ClientHash.Key(IPAddress.Parse(a)))].Id).ToArray();
        Assert.Equal(ExpectedIds, ids);
    }

    [Fact]
    public void The_table_size_is_a_prime_well_above_100_slots_per_channel_up_to_the_group_limit()
    {
        Assert.True(IsPrime(MaglevTable.SmallSize));
        Assert.True(IsPrime(MaglevTable.LargeSize));
        foreach (var n in new[] { 1, 5, 64, MaglevTable.SmallLimit, MaglevTable.SmallLimit + 1, 4096 })
        {
            Assert.True(MaglevTable.SizeFor(n) >= 150 * n, $"{n} channels get {MaglevTable.SizeFor(n)} slots");
        }

        Assert.Equal(0, MaglevPolicy.Instance.TableSize);
        Assert.Equal(MaglevTable.SmallSize, For(Channels(1, 1)).TableSize);
    }

    [Fact]
    public void A_group_keeps_its_table_while_ids_and_weights_stay()
    {
        var channels = Channels(1, 1, 1);
        var first = For(channels);
        var unusable = channels.Select(c => c with { Usable = false, Connections = 9 }).ToArray();
        Assert.Same(first, MaglevPolicy.Instance.ForGroup(unusable, first));
        Assert.NotSame(first, MaglevPolicy.Instance.ForGroup(Channels(1, 2, 1), first));
    }

    [Fact]
    public void Nothing_usable_offers_nothing_and_one_usable_channel_takes_everyone()
    {
        var channels = Channels(1, 1, 1, 1, 1).Select(c => c with { Usable = false }).ToArray();
        var policy = For(channels);
        Assert.All(Keys.Take(1000), k => Assert.Equal(-1, policy.Pick(channels, k)));
        channels[1] = channels[1] with { Usable = true };
        Assert.All(Keys.Take(1000), k => Assert.Equal(1, policy.Pick(channels, k)));
        Assert.Equal(-1, MaglevPolicy.Instance.Pick(channels, Keys[0]));
    }

    [Fact]
    public void Picking_allocates_nothing()
    {
        var channels = Channels(1, 1, 1, 1, 1);
        channels[2] = channels[2] with { Usable = false };
        var policy = For(channels);
        policy.Pick(channels, Keys[0]);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            sum += policy.Pick(channels, Keys[i]);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sum > 0);
    }

    private static readonly int[] ExpectedIds = [31, 31, 10, 38, 38];

    internal static MaglevPolicy For(ChannelCandidate[] channels) => (MaglevPolicy)MaglevPolicy.Instance.ForGroup(channels, null);

    internal static ChannelCandidate[] Channels(params int[] weights) =>
        weights.Select((w, i) => new ChannelCandidate(i, 10 + (7 * i), w, 0, w > 0)).ToArray();

    internal static IPAddress Address(int i)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, 0x0A000000u + (uint)i);
        return new IPAddress(bytes);
    }

    private static int[] Map(IBalancingPolicy policy, ChannelCandidate[] channels) => Keys.Select(k => policy.Pick(channels, k)).ToArray();

    private static int[] Count(int[] picks, int channels)
    {
        var counts = new int[channels];
        foreach (var p in picks)
        {
            counts[p]++;
        }

        return counts;
    }

    private static bool IsPrime(int n)
    {
        for (var d = 2; (long)d * d <= n; d++)
        {
            if (n % d == 0)
            {
                return false;
            }
        }

        return n > 1;
    }
}

/// <summary>Picks with just a client key, for the tests.</summary>
internal static class PolicyTestExtensions
{
    public static int Pick(this IBalancingPolicy policy, ChannelCandidate[] channels, ulong key)
    {
        var position = 0;
        var sequence = 0;
        var context = new PickContext(0, key, ref position, ref sequence);
        return policy.Pick(channels, ref context);
    }

    public static int Pick(this IBalancingPolicy policy, ChannelCandidate[] channels, int slot) => policy.Pick(channels, (ulong)slot);
}
