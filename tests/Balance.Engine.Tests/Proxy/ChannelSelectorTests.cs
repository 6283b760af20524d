using Balance.Configuration;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Proxy;

public class ChannelSelectorTests
{
    [Fact]
    public void Round_robin_walks_the_group_in_order_and_wraps()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3");
        var picks = Enumerable.Range(0, 7).Select(_ => Pick(t)).ToArray();
        Assert.Equal(new[] { "0/0", "0/1", "0/2", "0/0", "0/1", "0/2", "0/0" }, picks);
    }

    [Fact]
    public void Concurrent_round_robin_selections_split_exactly_evenly()
    {
        const int threads = 4;
        const int each = 30_000;
        using var t = TestSegment.Create("a:1", "b:2", "c:3");
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < each; i++)
            {
                ChannelSelector.Select(t.Segment, 0, 0, hashFailover: false, debug: null);
            }
        })).ToArray();
        foreach (var w in workers)
        {
            w.Start();
        }

        foreach (var w in workers)
        {
            w.Join();
        }

        var split = Enumerable.Range(0, 3).Select(c => t.Segment.Channel(0, c).Connections).ToArray();
        Assert.Equal([threads * each / 3, threads * each / 3, threads * each / 3], split);
    }

    [Fact]
    public void Round_robin_skips_disabled_and_full_channels()
    {
        using var t = TestSegment.Create("a:1", "b:2:1", "c:3");
        t.Segment.Channel(0, 0).Enabled = 0;
        t.Segment.Channel(0, 1).Connections = 1;
        Assert.Equal("0/2", Pick(t));
        Assert.Equal("0/2", Pick(t));
        Assert.Equal(2, t.Segment.Channel(0, 2).Connections);
    }

    [Fact]
    public void A_group_with_nothing_usable_passes_to_the_next_group_and_empty_groups_are_skipped()
    {
        using var t = TestSegment.Create("a:1:1", "!", "b:2");
        t.Segment.Channel(0, 0).Connections = 1;
        Assert.Equal("1/0", Pick(t));
        t.Segment.Channel(1, 0).Enabled = 0;
        Assert.Equal("none", Pick(t));
    }

    [Fact]
    public void Hash_takes_the_hash_modulo_all_channels_including_disabled_ones()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "%");
        t.Segment.Channel(0, 0).Enabled = 0;

        // Reference table: 3231995906 mod 3 = 2, 4001564289 mod 3 = 0 (counted although disabled).
        Assert.Equal("0/2", Pick(t, hash: 3231995906u));
        Assert.Equal("none", Pick(t, hash: 4001564289u));
    }

    [Fact]
    public void Hash_without_failover_skips_the_group_when_the_hashed_channel_is_unusable()
    {
        using var t = TestSegment.Create("a:1", "b:2", "%", "c:3");
        t.Segment.Channel(0, 1).Enabled = 0;
        Assert.Equal("1/0", Pick(t, hash: 5));
    }

    [Fact]
    public void Hash_failover_scans_forward_from_the_hashed_channel_with_wrap()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "%", "d:4");
        t.Segment.Channel(0, 2).Enabled = 0;
        Assert.Equal("0/0", Pick(t, hash: 2, hashFailover: true));
        t.Segment.Channel(0, 0).MaxConnections = 1;
        Assert.Equal("0/1", Pick(t, hash: 2, hashFailover: true));
        t.Segment.Channel(0, 1).Enabled = 0;
        Assert.Equal("1/0", Pick(t, hash: 2, hashFailover: true));
    }

    [Fact]
    public void An_empty_hash_group_is_skipped_not_divided_by()
    {
        using var t = TestSegment.Create("a:1", "!", "b:2");
        t.Segment.Group(0).ChannelCount = 0;
        t.Segment.Group(0).Type = (int)GroupType.Hash;
        Assert.Equal("1/0", Pick(t, hash: 7));
    }

    [Fact]
    public void Failover_within_a_group_tries_each_remaining_channel_once_in_order()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "d:4");
        var tried = new List<int>();
        var first = 2;
        var failed = first;
        while (true)
        {
            var next = ChannelSelector.NextInGroup(t.Segment, 0, failed, first, hashFailover: false);
            if (next < 0)
            {
                break;
            }

            tried.Add(next);
            failed = next;
        }

        Assert.Equal(new[] { 3, 0, 1 }, tried);

        // Scan steps leave the position alone; the connector advances it after a success.
        Assert.Equal(0, t.Segment.Group(0).RoundRobinPosition);
        ChannelSelector.Advance(t.Segment, 0, 3);
        Assert.Equal(0, t.Segment.Group(0).RoundRobinPosition);
        ChannelSelector.Advance(t.Segment, 0, 1);
        Assert.Equal(2, t.Segment.Group(0).RoundRobinPosition);
    }

    [Fact]
    public void Failover_within_a_group_applies_the_usable_check()
    {
        using var t = TestSegment.Create("a:1", "b:2:1", "c:3", "d:4");
        t.Segment.Channel(0, 1).Connections = 1;
        t.Segment.Channel(0, 2).Enabled = 0;
        Assert.Equal(3, ChannelSelector.NextInGroup(t.Segment, 0, 0, 0, hashFailover: false));
        Assert.Equal(-1, ChannelSelector.NextInGroup(t.Segment, 0, 3, 0, hashFailover: false));
    }

    [Fact]
    public void A_hash_group_is_only_scanned_after_a_failure_with_hash_failover()
    {
        using var t = TestSegment.Create("a:1", "b:2", "%");
        Assert.Equal(-1, ChannelSelector.NextInGroup(t.Segment, 0, 0, 0, hashFailover: false));
        Assert.Equal(1, ChannelSelector.NextInGroup(t.Segment, 0, 0, 0, hashFailover: true));
    }

    [Fact]
    public void Reservations_never_exceed_maxc_under_contention()
    {
        using var t = TestSegment.Create("a:1:7");
        var won = 0;
        Parallel.For(0, 1000, _ =>
        {
            if (ChannelSelector.TryReserve(ref t.Segment.Channel(0, 0)))
            {
                Interlocked.Increment(ref won);
            }
        });
        Assert.Equal(7, won);
        Assert.Equal(7, t.Segment.Channel(0, 0).Connections);
    }

    private static string Pick(TestSegment t, uint hash = 0, bool hashFailover = false)
    {
        var choice = ChannelSelector.Select(t.Segment, 0, hash, hashFailover, null);
        return choice.Found ? $"{choice.Group}/{choice.Channel}" : "none";
    }
}
