using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Balance.Configuration;
using Balance.Control;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Control;

/// <summary>Layout version 2: stripes, states, ids, policies, the change version and the version errors.</summary>
public class LayoutTests
{
    [Fact]
    public void Records_and_stripes_sit_on_whole_cache_lines()
    {
        Assert.Equal(SegmentLayout.HeaderSize, Unsafe.SizeOf<SegmentHeader>());
        Assert.Equal(SegmentLayout.GroupRecordSize, Unsafe.SizeOf<GroupRecord>());
        Assert.Equal(SegmentLayout.ChannelRecordSize, Unsafe.SizeOf<ChannelRecord>());
        Assert.Equal(64, Unsafe.SizeOf<ChannelStripe>());
        Assert.Equal(64, Unsafe.SizeOf<InstanceStripe>());
        Assert.Equal(0, SegmentLayout.InstanceStripesOffset(3, 5) % 64);
        Assert.Equal(0, SegmentLayout.ChannelStripesOffset(3, 5, 7) % 64);

        // Fields every worker writes per connection are alone on their lines.
        Assert.Equal(64, (int)Marshal.OffsetOf<GroupRecord>(nameof(GroupRecord.RoundRobinPosition)));
        Assert.Equal(192, (int)Marshal.OffsetOf<ChannelRecord>(nameof(ChannelRecord.Connections)));
        Assert.Equal(256, (int)Marshal.OffsetOf<SegmentHeader>(nameof(SegmentHeader.ChangeVersion)));
    }

    [Fact]
    public void Readers_sum_every_worker_stripe_and_reset_zeroes_them_all()
    {
        using var instance = new FakeInstance(stripes: 3);
        instance.AddChannel(0, "127.0.0.1", 9101);
        for (var w = 0; w < 3; w++)
        {
            ref var s = ref instance.Segment.Stripe(w, 0, 0);
            s.TotalConnections = w + 1;
            s.Failures = 10 * (w + 1);
            s.BytesSent = 100 * (w + 1);
            s.BytesReceived = 1000 * (w + 1);
            instance.Segment.InstanceStripe(w).Accepted = w + 4;
            instance.Segment.InstanceStripe(w).Rejected = w;
        }

        var channel = instance.Client.GetChannel(0, 0);
        Assert.Equal((6L, 60L, 600L, 6000L), (channel.TotalConnections, channel.Failures, channel.BytesSent, channel.BytesReceived));
        var info = instance.Client.GetInstance();
        Assert.Equal((15L, 3L, 3), (info.Accepted, info.Rejected, info.CounterStripes));

        instance.Client.ResetCounters(0, 0);
        for (var w = 0; w < 3; w++)
        {
            var s = instance.Segment.Stripe(w, 0, 0);
            Assert.Equal(0, s.TotalConnections + s.Failures + s.BytesSent + s.BytesReceived);
        }
    }

    [Fact]
    public void Setting_a_counter_through_the_view_makes_it_the_channel_total()
    {
        using var instance = new FakeInstance(stripes: 2);
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.Segment.Stripe(1, 0, 0).BytesSent = 40;
        instance.Segment.Channel(0, 0).BytesSent = 6;
        Assert.Equal(6, instance.Client.GetChannel(0, 0).BytesSent);
        Assert.Equal(0, instance.Segment.Stripe(1, 0, 0).BytesSent);
    }

    [Fact]
    public void A_worker_outside_the_stripes_is_refused()
    {
        using var instance = new FakeInstance(stripes: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => instance.Segment.Stripe(2, 0, 0).BytesSent);
        Assert.Throws<ArgumentOutOfRangeException>(() => instance.Segment.InstanceStripe(-1).Accepted);
    }

    [Fact]
    public void Channel_ids_are_unique_across_groups_and_independent_of_position()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(0, "127.0.0.1", 1);
        instance.AddChannel(1, "127.0.0.1", 2);
        instance.AddChannel(0, "127.0.0.1", 3);
        var ids = new[] { instance.Client.GetChannel(0, 0).Id, instance.Client.GetChannel(1, 0).Id, instance.Client.GetChannel(0, 1).Id };
        Assert.Equal([1, 2, 3], ids);
    }

    [Fact]
    public void Admin_state_and_health_are_apart_and_enabled_means_admin_enabled()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(0, "127.0.0.1", 1);
        Assert.Equal(ChannelChange.Changed, instance.Client.SetAdminState(0, 0, ChannelAdminState.Draining));
        var draining = instance.Client.GetChannel(0, 0);
        Assert.Equal((ChannelAdminState.Draining, false, ChannelHealth.Unknown, 1, false), (draining.AdminState, draining.Enabled, draining.Health, draining.Weight, draining.Serving));

        instance.Client.Enable(0, 0);
        instance.Segment.Channel(0, 0).Health = ChannelHealth.Down;
        var down = instance.Client.GetChannel(0, 0);
        Assert.Equal((ChannelAdminState.Enabled, true, ChannelHealth.Down, false), (down.AdminState, down.Enabled, down.Health, down.Serving));
    }

    [Fact]
    public void Weight_and_policy_changes_move_the_change_version()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(0, "127.0.0.1", 1);
        var before = instance.Client.GetInstance().ChangeVersion;
        instance.Client.SetWeight(0, 0, 5);
        instance.Client.SetGroupType(0, GroupType.Hash);
        Assert.Equal(before + 2, instance.Client.GetInstance().ChangeVersion);
        Assert.Equal(5, instance.Client.GetChannel(0, 0).Weight);
        var group = instance.Client.GetGroup(0);
        Assert.Equal((GroupType.Hash, 1, "Hash"), (group.Type, group.PolicyId, group.Policy));

        var e = Assert.Throws<ControlException>(() => instance.Client.SetWeight(0, 0, 257));
        Assert.Contains("use 0 (no new sessions) to 256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_policy_the_engine_does_not_know_is_refused_naming_those_it_knows()
    {
        using var instance = new FakeInstance();
        var e = Assert.Throws<ControlException>(() => instance.Client.SetPolicy(0, 9));
        Assert.Equal(ControlError.InvalidArgument, e.Error);
        Assert.Equal($"invalid policy [policy 9]: the instance on 127.0.0.1:{instance.Port} knows RoundRobin, Hash, WeightedRoundRobin, LeastConnections, Maglev", e.Message);
    }

    [Fact]
    public void A_version_1_instance_is_named_with_its_version_and_the_fix()
    {
        using var instance = new FakeInstance();
        instance.Segment.Header.LayoutVersion = 1;

        var e = Assert.Throws<ControlException>(instance.OpenClient);

        Assert.Equal(ControlError.IncompatibleLayout, e.Error);
        Assert.Equal(
            $"layout mismatch: the instance on 127.0.0.1:{instance.Port} (started by Balance {ProductInfo.Version}) uses control segment layout 1, this Balance reads layout 2; "
            + "control it with the older Balance that started it, or stop it with that version (balance -c kill) and start it again with this one",
            e.Message);
    }

    [Fact]
    public void A_newer_instance_asks_for_the_newer_Balance()
    {
        using var instance = new FakeInstance();
        instance.Segment.Header.LayoutVersion = 3;

        var e = Assert.Throws<ControlException>(instance.OpenClient);

        Assert.EndsWith("uses control segment layout 3, this Balance reads layout 2; control it with the newer Balance that started it", e.Message, StringComparison.Ordinal);
    }
}
