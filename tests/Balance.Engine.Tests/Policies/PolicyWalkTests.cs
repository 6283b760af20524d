using System.Net;
using Balance.Control;
using Balance.Policies;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Policies;

/// <summary>The new policies through the shared failover walk, over a real segment: usable checks, maxc, -H and the next group.</summary>
public class PolicyWalkTests
{
    public static TheoryData<int> NewPolicies => new() { PolicyCatalog.WeightedRoundRobin, PolicyCatalog.LeastConnections, PolicyCatalog.Maglev };

    [Theory]
    [MemberData(nameof(NewPolicies))]
    public void Every_new_policy_passes_over_disabled_down_draining_weightless_and_full_channels(int policy)
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "d:4:1", "e:5");
        t.Segment.Channel(0, 0).AdminState = ChannelAdminState.Disabled;
        t.Segment.Channel(0, 1).Health = ChannelHealth.Down;
        t.Segment.Channel(0, 2).AdminState = ChannelAdminState.Draining;
        t.Segment.Channel(0, 3).Connections = 1;
        t.Segment.Channel(0, 4).Weight = 0;
        Use(t, 0, policy);
        var selector = new ChannelSelector(t.Segment);
        Assert.All(Enumerable.Range(0, 50), i => Assert.False(selector.Select(0, (uint)i, (ulong)i, hashFailover: false, null).Found));
        Assert.Equal(1, t.Segment.Channel(0, 3).Connections);
    }

    [Theory]
    [MemberData(nameof(NewPolicies))]
    public void Every_new_policy_fails_over_to_the_next_group_when_its_group_has_nothing_usable(int policy)
    {
        using var t = TestSegment.Create("a:1:1", "b:2", "!", "c:3");
        Use(t, 0, policy);
        t.Segment.Channel(0, 0).Connections = 1;
        t.Segment.Channel(0, 1).AdminState = ChannelAdminState.Disabled;
        var choice = new ChannelSelector(t.Segment).Select(0, 7, 7, hashFailover: false, null);
        Assert.Equal((1, 0), (choice.Group, choice.Channel));
    }

    [Theory]
    [MemberData(nameof(NewPolicies))]
    public void Every_new_policy_reserves_exactly_up_to_maxc(int policy)
    {
        using var t = TestSegment.Create("a:1:3", "b:2:2", "!", "c:3");
        Use(t, 0, policy);
        var selector = new ChannelSelector(t.Segment);
        var groups = Enumerable.Range(0, 8).Select(i => selector.Select(0, (uint)i, KeyOf(i), hashFailover: false, null).Group).ToArray();
        Assert.Equal(5, groups.Count(g => g == 0));
        Assert.Equal((3, 2), (t.Segment.Channel(0, 0).Connections, t.Segment.Channel(0, 1).Connections));
    }

    [Theory]
    [MemberData(nameof(NewPolicies))]
    public void Every_new_policy_scans_its_group_after_a_failed_connect_without_hash_failover(int policy)
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3");
        Use(t, 0, policy);
        t.Segment.Channel(0, 2).AdminState = ChannelAdminState.Disabled;
        var selector = new ChannelSelector(t.Segment);
        Assert.Equal(0, selector.NextInGroup(0, 1, 1, hashFailover: false));
        Assert.Equal(-1, selector.NextInGroup(0, 0, 1, hashFailover: false));
    }

    [Fact]
    public void Weighted_round_robin_follows_the_segment_weights_and_rebuilds_when_the_change_version_moves()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3");
        t.Segment.Channel(0, 0).Weight = 3;
        Use(t, 0, PolicyCatalog.WeightedRoundRobin);
        var selector = new ChannelSelector(t.Segment);
        Assert.Equal([0, 1, 0, 2, 0, 0, 1, 0, 2, 0], Picks(t, selector, 10));

        t.Segment.Channel(0, 0).Weight = 1;
        t.Segment.Channel(0, 2).Weight = 2;
        Interlocked.Increment(ref t.Segment.Header.ChangeVersion);
        var counts = Picks(t, selector, 4000).GroupBy(c => c).OrderBy(g => g.Key).Select(g => g.Count()).ToArray();
        Assert.Equal([1000, 1000, 2000], counts);
    }

    [Fact]
    public void Weighted_round_robin_keeps_its_ticket_in_the_group_record_apart_from_the_position()
    {
        using var t = TestSegment.Create("a:1", "b:2");
        t.Segment.Channel(0, 1).Weight = 2;
        Use(t, 0, PolicyCatalog.WeightedRoundRobin);
        var selector = new ChannelSelector(t.Segment);
        Picks(t, selector, 2);
        Assert.Equal(2, t.Segment.Group(0).PolicySequence);
        Assert.Equal(0, t.Segment.Group(0).RoundRobinPosition);
    }

    [Fact]
    public void Least_connections_picks_the_channel_with_the_fewest_live_sessions()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3");
        t.Segment.Channel(0, 0).Connections = 4;
        t.Segment.Channel(0, 1).Connections = 2;
        t.Segment.Channel(0, 2).Connections = 3;
        Use(t, 0, PolicyCatalog.LeastConnections);
        var selector = new ChannelSelector(t.Segment);
        var picks = Enumerable.Range(0, 6).Select(_ => selector.Select(0, 0, 0, hashFailover: false, null).Channel).ToArray();

        // Counts 4 2 3: b. 4 3 3: the tie goes to c, first from past b. 4 3 4: b. 4 4 4: c, first
        // from past b. 4 4 5: a. 5 4 5: b.
        Assert.Equal([1, 2, 1, 2, 0, 1], picks);
    }

    [Fact]
    public void Maglev_sends_a_client_to_the_same_channel_and_moves_it_only_while_that_channel_is_unusable()
    {
        using var t = TestSegment.Create("a:1", "b:2", "c:3", "d:4", "e:5");
        Use(t, 0, PolicyCatalog.Maglev);
        var selector = new ChannelSelector(t.Segment);
        var keys = Enumerable.Range(0, 2000).Select(i => ClientHash.Key(MaglevPolicyTests.Address(i))).ToArray();
        var before = keys.Select(k => SelectAndRelease(t, selector, k)).ToArray();
        Assert.Equal(before, keys.Select(k => SelectAndRelease(t, selector, k)).ToArray());

        t.Segment.Channel(0, 2).Health = ChannelHealth.Down;
        var down = keys.Select(k => SelectAndRelease(t, selector, k)).ToArray();
        Assert.True(Enumerable.Range(0, keys.Length).All(i => before[i] == 2 ? down[i] != 2 : down[i] == before[i]));

        t.Segment.Channel(0, 2).Health = ChannelHealth.Up;
        Assert.Equal(before, keys.Select(k => SelectAndRelease(t, selector, k)).ToArray());
    }

    [Fact]
    public void The_catalog_names_the_new_policies_for_the_shell_and_the_cmdlets()
    {
        Assert.Equal("rr, hash, wrr, leastconn, maglev", PolicyCatalog.Words);
        Assert.Same(MaglevPolicy.Instance, PolicyCatalog.FindByName("maglev"));
        Assert.Same(MaglevPolicy.Instance, PolicyCatalog.FindByName("Maglev"));
        Assert.Same(LeastConnectionsPolicy.Instance, PolicyCatalog.FindByName("LEASTCONN"));
        Assert.Same(WeightedRoundRobinPolicy.Instance, PolicyCatalog.FindByName("WeightedRoundRobin"));
        Assert.Same(HashPolicy.Instance, PolicyCatalog.FindByName("hash"));
        Assert.Null(PolicyCatalog.FindByName("random"));
        Assert.Null(PolicyCatalog.FindByName(null));
        Assert.Equal(0b11111, PolicyCatalog.Mask);
        Assert.Equal(["RR", "Hash", "WRR", "LC", "Magl"], PolicyCatalog.All.Select(p => p.ShowName));
        Assert.All(PolicyCatalog.All.Select((p, i) => (p, i)), x => Assert.Equal(x.i, x.p.Id));
    }

    [Fact]
    public void A_new_segment_tells_clients_it_knows_the_new_policies()
    {
        using var t = TestSegment.Create("a:1");
        Assert.Equal(PolicyCatalog.Mask, t.Segment.Header.PolicyMask);
    }

    private static void Use(TestSegment t, int group, int policy)
    {
        t.Segment.Group(group).Policy = policy;
        Interlocked.Increment(ref t.Segment.Header.ChangeVersion);
    }

    private static ulong KeyOf(int i) => ClientHash.Key(new IPAddress(i + 1));

    private static int[] Picks(TestSegment t, ChannelSelector selector, int count) =>
        Enumerable.Range(0, count).Select(_ => SelectAndRelease(t, selector, 0)).ToArray();

    private static int SelectAndRelease(TestSegment t, ChannelSelector selector, ulong key)
    {
        var choice = selector.Select(0, 0, key, hashFailover: false, null);
        ChannelSelector.Release(ref t.Segment.Record(choice.Group, choice.Channel));
        return choice.Channel;
    }
}
