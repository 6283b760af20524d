using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Control;

public class ControlClientTests
{
    [Fact]
    public void Created_channel_starts_disabled_with_clean_counters_even_over_a_dirty_slot()
    {
        using var instance = new FakeInstance();
        var dirty = instance.Segment.Channel(0, 0);
        dirty.MaxConnections = 7;
        dirty.TotalConnections = 99;
        dirty.Connections = 3;
        using var client = instance.OpenClient();

        var index = client.Create(0, "127.0.0.1", 9101);

        var ch = client.GetChannel(0, index);
        Assert.Equal(0, index);
        Assert.False(ch.Enabled);
        Assert.Equal(0, ch.MaxConnections);
        Assert.Equal(0, ch.Connections);
        Assert.Equal(0, ch.TotalConnections);
        Assert.Equal("127.0.0.1:9101", ch.Destination);
        Assert.Equal(IPAddress.Loopback, ch.Address);
    }

    [Fact]
    public void Enable_and_disable_report_whether_anything_changed()
    {
        using var instance = new FakeInstance();
        using var client = instance.OpenClient();
        client.Create(0, "127.0.0.1", 9101);

        Assert.Equal(ChannelChange.Changed, client.Enable(0, 0));
        Assert.Equal(ChannelChange.Unchanged, client.Enable(0, 0));
        Assert.Equal(ChannelChange.Changed, client.Disable(0, 0));
        Assert.Equal(ChannelChange.Unchanged, client.Disable(0, 0));
    }

    [Fact]
    public void Assign_needs_a_disabled_channel_and_a_bad_address_leaves_the_old_one()
    {
        using var instance = new FakeInstance();
        using var client = instance.OpenClient();
        client.Create(0, "127.0.0.1", 9101, enabled: true);

        var busy = Assert.Throws<ControlException>(() => client.Assign(0, 0, "127.0.0.2", 9102));
        Assert.Equal(ControlError.MustBeDisabled, busy.Error);

        client.Disable(0, 0);
        var bad = Assert.Throws<ControlException>(() => client.Assign(0, 0, "no-such-host.invalid", 9102));
        Assert.Equal(ControlError.InvalidAddress, bad.Error);
        Assert.Equal("127.0.0.1:9101", client.GetChannel(0, 0).Destination);

        client.Assign(0, 0, "::1", 9102);
        var moved = client.GetChannel(0, 0);
        Assert.Equal("[::1]:9102", moved.Destination);
        Assert.Equal(IPAddress.IPv6Loopback, moved.Address);
    }

    [Fact]
    public void A_full_group_refuses_create()
    {
        using var instance = new FakeInstance(maxChannels: 2);
        using var client = instance.OpenClient();
        client.Create(0, "127.0.0.1", 1);
        client.Create(0, "127.0.0.1", 2);

        var full = Assert.Throws<ControlException>(() => client.Create(0, "127.0.0.1", 3));

        Assert.Equal(ControlError.GroupFull, full.Error);
        Assert.Equal(2, client.GetGroup(0).ChannelCount);
    }

    [Fact]
    public void Bounds_are_checked_on_every_argument()
    {
        using var instance = new FakeInstance(maxGroups: 2);
        using var client = instance.OpenClient();
        client.Create(1, "127.0.0.1", 1);

        Assert.Equal(ControlError.NoSuchGroup, Assert.Throws<ControlException>(() => client.GetGroup(2)).Error);
        Assert.Equal(ControlError.NoSuchGroup, Assert.Throws<ControlException>(() => client.Enable(-1, 0)).Error);
        Assert.Equal(ControlError.NoSuchChannel, Assert.Throws<ControlException>(() => client.Enable(0, 0)).Error);
        Assert.Equal(ControlError.NoSuchChannel, Assert.Throws<ControlException>(() => client.Enable(1, 1)).Error);
        Assert.Equal(ControlError.InvalidArgument, Assert.Throws<ControlException>(() => client.SetMaxConnections(1, 0, -1)).Error);
        Assert.Equal(ControlError.InvalidArgument, Assert.Throws<ControlException>(() => client.Create(1, "127.0.0.1", 70000)).Error);
        Assert.Equal(ControlError.InvalidArgument, Assert.Throws<ControlException>(() => client.SetGroupType(1, (GroupType)7)).Error);
    }

    [Fact]
    public void Reset_zeroes_counters_but_not_the_live_connection_count()
    {
        using var instance = new FakeInstance();
        using var client = instance.OpenClient();
        client.Create(0, "127.0.0.1", 1);
        var c = instance.Segment.Channel(0, 0);
        c.Connections = 2;
        c.TotalConnections = 5;
        c.Failures = 1;
        c.BytesSent = 10;
        c.BytesReceived = 20;

        client.ResetCounters(0, 0);

        var after = client.GetChannel(0, 0);
        Assert.Equal(2, after.Connections);
        Assert.Equal(0, after.TotalConnections + after.Failures + after.BytesSent + after.BytesReceived);
    }

    [Fact]
    public void Group_type_and_snapshot_follow_changes()
    {
        using var instance = new FakeInstance();
        using var client = instance.OpenClient();
        client.Create(0, "127.0.0.1", 1, enabled: true);
        client.Create(2, "127.0.0.1", 2);
        client.SetGroupType(2, GroupType.Hash);

        var snapshot = client.Snapshot();

        Assert.Equal([0, 2], snapshot.Groups.Select(g => g.Group));
        Assert.Equal(GroupType.Hash, snapshot.Channels.Single(c => c.Group == 2).GroupType);
        Assert.Equal(2, snapshot.Instance.GroupCount);
        Assert.Equal(2, snapshot.Instance.ChannelCount);
        Assert.Equal(instance.Port, snapshot.Instance.Port);
        Assert.Equal("127.0.0.1", snapshot.Instance.BindAddress);
        Assert.Equal(Environment.ProcessId, snapshot.Instance.ProcessId);
    }

    [Fact]
    public void A_corrupt_channel_count_is_clamped_not_followed()
    {
        using var instance = new FakeInstance(maxChannels: 4);
        using var client = instance.OpenClient();
        instance.Segment.Group(0).ChannelCount = int.MaxValue;
        instance.Segment.Group(1).ChannelCount = -5;

        Assert.Equal(4, client.GetChannels(0).Count);
        Assert.Empty(client.GetChannels(1));
        client.Snapshot();
    }

    [Fact]
    public void A_crashed_owner_is_detected_without_signalling_any_pid()
    {
        using var instance = new FakeInstance();
        instance.Segment.Header.OwnerPid = 1;
        instance.ReleaseOwnerOnly();

        var e = Assert.Throws<ControlException>(instance.OpenClient);

        Assert.Equal(ControlError.NotRunning, e.Error);
        Assert.Contains("no master process with pid 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kill_sets_the_request_and_waits_for_the_owner_to_let_go()
    {
        using var instance = new FakeInstance();
        using var client = instance.OpenClient();

        // Nobody took the request in time: it is withdrawn, so nothing stops later by surprise.
        Assert.False(client.Kill(TimeSpan.FromMilliseconds(100)));
        Assert.Equal(KillRequest.None, instance.Segment.Header.KillRequested);

        instance.ReleaseOwnerOnly();
        Assert.True(client.Kill(TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void Instances_are_listed_and_stale_ones_are_not()
    {
        using var live = new FakeInstance();
        using var stale = new FakeInstance();
        stale.ReleaseOwnerOnly();

        var ports = ControlClient.ListInstances().Select(i => i.Port).ToArray();

        Assert.Contains(live.Port, ports);
        Assert.DoesNotContain(stale.Port, ports);
    }
}
