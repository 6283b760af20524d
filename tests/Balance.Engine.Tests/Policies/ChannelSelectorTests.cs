using Balance.Configuration;
using Balance.Control;
using Balance.Policies;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Policies;

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
        var selector = new ChannelSelector(t.Segment);
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < each; i++)
            {
                selector.Select(0, 0, hashFailover: false, debug: null);
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
        t.Segment.Channel(0, 0).AdminState = ChannelAdminState.Disabled;
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
        t.Segment.Channel(1, 0).AdminState = ChannelAdminState.Disabled;
        Assert.Equal("none", Pick(t));
    }

    [Fact]
    public void Hash_takes_the_hash_modulo_all_channels_including_disabled_ones()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "%");
        t.Segment.Channel(0, 0).AdminState = ChannelAdminState.Disabled;

        // Reference table: 3231995906 mod 3 = 2, 4001564289 mod 3 = 0 (counted although disabled).
        Assert.Equal("0/2", Pick(t, hash: 3231995906u));
        Assert.Equal("none", Pick(t, hash: 4001564289u));
    }

    [Fact]
    public void Hash_without_failover_skips_the_group_when_the_hashed_channel_is_unusable()
    {
        using var t = TestSegment.Create("a:1", "b:2", "%", "c:3");
        t.Segment.Channel(0, 1).AdminState = ChannelAdminState.Disabled;
        Assert.Equal("1/0", Pick(t, hash: 5));
    }

    [Fact]
    public void Hash_failover_scans_forward_from_the_hashed_channel_with_wrap()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "%", "d:4");
        t.Segment.Channel(0, 2).AdminState = ChannelAdminState.Disabled;
        Assert.Equal("0/0", Pick(t, hash: 2, hashFailover: true));
        t.Segment.Channel(0, 0).MaxConnections = 1;
        Assert.Equal("0/1", Pick(t, hash: 2, hashFailover: true));
        t.Segment.Channel(0, 1).AdminState = ChannelAdminState.Disabled;
        Assert.Equal("1/0", Pick(t, hash: 2, hashFailover: true));
    }

    [Fact]
    public void An_empty_hash_group_is_skipped_not_divided_by()
    {
        using var t = TestSegment.Create("a:1", "!", "b:2");
        t.Segment.Group(0).ChannelCount = 0;
        t.Segment.Group(0).Policy = (int)GroupType.Hash;
        Assert.Equal("1/0", Pick(t, hash: 7));
    }

    [Fact]
    public void Failover_within_a_group_tries_each_remaining_channel_once_in_order()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "d:4");
        var selector = new ChannelSelector(t.Segment);
        var tried = new List<int>();
        var first = 2;
        var failed = first;
        while (true)
        {
            var next = selector.NextInGroup(0, failed, first, hashFailover: false);
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
        selector.Advance(0, 3);
        Assert.Equal(0, t.Segment.Group(0).RoundRobinPosition);
        selector.Advance(0, 1);
        Assert.Equal(2, t.Segment.Group(0).RoundRobinPosition);
    }

    [Fact]
    public void Failover_within_a_group_applies_the_usable_check()
    {
        using var t = TestSegment.Create("a:1", "b:2:1", "c:3", "d:4");
        t.Segment.Channel(0, 1).Connections = 1;
        t.Segment.Channel(0, 2).AdminState = ChannelAdminState.Disabled;
        Assert.Equal(3, new ChannelSelector(t.Segment).NextInGroup(0, 0, 0, hashFailover: false));
        Assert.Equal(-1, new ChannelSelector(t.Segment).NextInGroup(0, 3, 0, hashFailover: false));
    }

    [Fact]
    public void A_hash_group_is_only_scanned_after_a_failure_with_hash_failover()
    {
        using var t = TestSegment.Create("a:1", "b:2", "%");
        Assert.Equal(-1, new ChannelSelector(t.Segment).NextInGroup(0, 0, 0, hashFailover: false));
        Assert.Equal(1, new ChannelSelector(t.Segment).NextInGroup(0, 0, 0, hashFailover: true));
    }

    [Fact]
    public void Reservations_never_exceed_maxc_under_contention()
    {
        using var t = TestSegment.Create("a:1:7");
        var won = 0;
        Parallel.For(0, 1000, _ =>
        {
            if (ChannelSelector.TryReserve(ref t.Segment.Record(0, 0)))
            {
                Interlocked.Increment(ref won);
            }
        });
        Assert.Equal(7, won);
        Assert.Equal(7, t.Segment.Channel(0, 0).Connections);
    }

    [Fact]
    public void Channels_down_draining_or_weightless_are_not_usable()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "d:4");
        t.Segment.Channel(0, 0).Health = ChannelHealth.Down;
        t.Segment.Channel(0, 1).AdminState = ChannelAdminState.Draining;
        t.Segment.Channel(0, 2).Weight = 0;
        Assert.Equal("0/3", Pick(t));
        Assert.Equal("0/3", Pick(t));
        t.Segment.Channel(0, 0).Health = ChannelHealth.Up;
        Assert.Equal("0/0", Pick(t));
    }

    [Fact]
    public void The_policy_is_looked_up_again_only_when_the_change_version_moves()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3");
        var selector = new ChannelSelector(t.Segment);
        t.Segment.Group(0).Policy = (int)GroupType.Hash;

        // Hash 5 over 3 channels is channel 2; round robin from position 0 is channel 0.
        Assert.Equal(0, selector.Select(0, 5, hashFailover: false, debug: null).Channel);
        Interlocked.Increment(ref t.Segment.Header.ChangeVersion);
        Assert.Equal(2, selector.Select(0, 5, hashFailover: false, debug: null).Channel);
        Assert.Equal(2, selector.Select(0, 5, hashFailover: false, debug: null).Channel);
    }

    [Fact]
    public void A_policy_id_this_engine_does_not_know_balances_round_robin_and_is_reported()
    {
        using var t = TestSegment.Create("a:1", "b:2");
        t.Segment.Group(0).Policy = 23;
        var notices = new List<string>();
        var selector = new ChannelSelector(t.Segment, notices.Add);
        Assert.Equal(0, selector.Select(0, 1, hashFailover: false, debug: null).Channel);
        Assert.Equal(1, selector.Select(0, 1, hashFailover: false, debug: null).Channel);
        Assert.Equal(["group 0 has policy id 23, which this engine does not know; it balances round robin"], notices);
    }

    [Fact]
    public void A_hash_group_with_hash_failover_traces_the_original_debug_lines()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "%");
        t.Segment.Channel(0, 2).AdminState = ChannelAdminState.Disabled;
        using var debug = new StringWriter();
        var choice = new ChannelSelector(t.Segment).Select(0, 3231995906u, hashFailover: true, debug);
        Assert.Equal("0/0", $"{choice.Group}/{choice.Channel}");
        Assert.Equal(
            "HASH-method: fold returns 3231995906\nmodulo 3 gives 2\nchannel disabled - hashfailover.\nchannel choosen: 0 in group 0.\n",
            debug.ToString().ReplaceLineEndings("\n"));
    }

    private static string Pick(TestSegment t, uint hash = 0, bool hashFailover = false)
    {
        var choice = new ChannelSelector(t.Segment).Select(0, hash, hashFailover, null);
        return choice.Found ? $"{choice.Group}/{choice.Channel}" : "none";
    }
}
