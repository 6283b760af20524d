using Balance.Configuration;

namespace Balance.Control;

/// <summary>
/// The typed control API of a running instance: every front end (the <c>-i</c>/<c>-c</c> shell, the
/// cmdlets, scheduled exports) goes through it, and it goes only through the segment. Counter and
/// flag changes are single atomic writes; structural changes (create, assign, group type) take the
/// cross-process control lock.
/// </summary>
public sealed class ControlClient : IDisposable
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(5);
    private readonly ControlSegment segment;

    private ControlClient(ControlSegment segment)
    {
        this.segment = segment;
    }

    public SegmentName Name => segment.Name;

    public int MaxGroups => segment.MaxGroups;

    public int MaxChannels => segment.MaxChannels;

    /// <summary>The mapped segment, for in-process readers that need more than the typed API (tests, benchmarks).</summary>
    internal ControlSegment Segment => segment;

    /// <summary>Opens the instance listening on <paramref name="bindAddress"/> (null = wildcard) and <paramref name="port"/>.</summary>
    public static ControlClient Open(string? bindAddress, int port, bool ipv6 = false)
    {
        SegmentName name;
        try
        {
            name = SegmentName.For(bindAddress, port, ipv6);
        }
        catch (ConfigurationException e)
        {
            throw new ControlException(ControlError.InvalidAddress, e.Message, e);
        }

        return Open(name);
    }

    public static ControlClient Open(SegmentName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var segment = ControlSegment.Open(name);
        try
        {
            EnsureAlive(segment);
            return new ControlClient(segment);
        }
        catch
        {
            segment.Dispose();
            throw;
        }
    }

    /// <summary>Every live instance whose segment this user can open, ordered by port then address.</summary>
    public static IReadOnlyList<InstanceInfo> ListInstances()
    {
        var result = new List<InstanceInfo>();
        string[] files;
        try
        {
            files = Directory.GetFiles(SegmentName.Directory, SegmentName.FilePrefix + "*" + SegmentName.SegmentSuffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return result;
        }

        foreach (var file in files)
        {
            if (SegmentName.TryParseFile(file) is not { } name)
            {
                continue;
            }

            try
            {
                using var client = Open(name);
                result.Add(client.GetInstance());
            }
            catch (ControlException)
            {
                // Another user's, stale or damaged: not an instance this user can see.
            }
        }

        return result.OrderBy(i => i.Port).ThenBy(i => i.BindAddress, StringComparer.Ordinal).ToArray();
    }

    public InstanceInfo GetInstance()
    {
        ref var h = ref segment.Header;
        var groups = 0;
        var channels = 0;
        for (var g = 0; g < segment.MaxGroups; g++)
        {
            var n = segment.ChannelCount(g);
            channels += n;
            if (n > 0)
            {
                groups++;
            }
        }

        var start = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(h.StartTimeUnixMs, 0, 253402300799999));
        var uptime = DateTimeOffset.UtcNow - start;
        return new InstanceInfo(
            segment.ReadListenAddress(),
            h.ListenPort,
            h.OwnerPid,
            segment.State,
            start,
            uptime < TimeSpan.Zero ? TimeSpan.Zero : uptime,
            segment.MaxGroups,
            segment.MaxChannels,
            groups,
            channels,
            segment.ReadProductVersion(),
            (EngineFlags)h.Flags,
            TimeSpan.FromMilliseconds(Math.Max(0, h.ConnectTimeoutMs)),
            TimeSpan.FromMilliseconds(Math.Max(0, h.IdleTimeoutMs)),
            Volatile.Read(ref h.Accepted),
            Volatile.Read(ref h.Rejected),
            segment.Name.Path);
    }

    public GroupInfo GetGroup(int group)
    {
        ref var g = ref segment.Group(group);
        return new GroupInfo(group, segment.GroupTypeOf(group), segment.ChannelCount(group), Math.Clamp(Volatile.Read(ref g.RoundRobinPosition), 0, segment.MaxChannels));
    }

    public IReadOnlyList<GroupInfo> GetGroups(bool includeEmpty = false)
    {
        var list = new List<GroupInfo>();
        for (var g = 0; g < segment.MaxGroups; g++)
        {
            var info = GetGroup(g);
            if (includeEmpty || info.ChannelCount > 0)
            {
                list.Add(info);
            }
        }

        return list;
    }

    public ChannelInfo GetChannel(int group, int channel)
    {
        RequireChannel(group, channel);
        ref var c = ref segment.Channel(group, channel);
        var endpoint = ChannelAddress.Read(segment, group, channel, out _);
        return new ChannelInfo(
            group,
            segment.GroupTypeOf(group),
            channel,
            segment.ReadDestination(group, channel),
            endpoint.Port,
            endpoint.Address,
            Volatile.Read(ref c.Enabled) != 0,
            Volatile.Read(ref c.MaxConnections),
            Volatile.Read(ref c.Connections),
            Volatile.Read(ref c.TotalConnections),
            Volatile.Read(ref c.Failures),
            Volatile.Read(ref c.BytesSent),
            Volatile.Read(ref c.BytesReceived));
    }

    public IReadOnlyList<ChannelInfo> GetChannels(int group)
    {
        var count = segment.ChannelCount(group);
        var list = new ChannelInfo[count];
        for (var c = 0; c < count; c++)
        {
            list[c] = GetChannel(group, c);
        }

        return list;
    }

    public BalanceSnapshot Snapshot()
    {
        var groups = GetGroups();
        var channels = new List<ChannelInfo>();
        foreach (var g in groups)
        {
            channels.AddRange(GetChannels(g.Group));
        }

        return new BalanceSnapshot(GetInstance(), groups, channels);
    }

    public ChannelChange Enable(int group, int channel) => SetEnabled(group, channel, true);

    public ChannelChange Disable(int group, int channel) => SetEnabled(group, channel, false);

    public void SetMaxConnections(int group, int channel, int maxConnections)
    {
        RequireChannel(group, channel);
        if (maxConnections < 0)
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid maxc [{maxConnections}]: use 0 (unlimited) or a positive number");
        }

        Volatile.Write(ref segment.Channel(group, channel).MaxConnections, maxConnections);
    }

    /// <summary>Zeroes total, failures and byte counters. The live count is not a counter but a fact, so it stays.</summary>
    public void ResetCounters(int group, int channel)
    {
        RequireChannel(group, channel);
        ref var c = ref segment.Channel(group, channel);
        Interlocked.Exchange(ref c.TotalConnections, 0);
        Interlocked.Exchange(ref c.Failures, 0);
        Interlocked.Exchange(ref c.BytesSent, 0);
        Interlocked.Exchange(ref c.BytesReceived, 0);
    }

    public void SetGroupType(int group, GroupType type)
    {
        segment.Group(group);
        if (!Enum.IsDefined(type))
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid group type [{type}]: use RoundRobin or Hash");
        }

        using var l = LockStructure();
        Volatile.Write(ref segment.Group(group).Type, (int)type);
        Interlocked.Increment(ref segment.Header.StructureVersion);
    }

    /// <summary>Appends a channel to a group, disabled (as the original did), with fresh counters; returns its index.</summary>
    public int Create(int group, string host, int port, int maxConnections = 0, bool enabled = false)
    {
        segment.Group(group);
        ValidateDestination(host, port);
        if (maxConnections < 0)
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid maxc [{maxConnections}]: use 0 (unlimited) or a positive number");
        }

        var address = ChannelAddress.Resolve(host);
        using var l = LockStructure();
        var index = segment.ChannelCount(group);
        if (index >= segment.MaxChannels)
        {
            throw new ControlException(ControlError.GroupFull, $"no channel slots available: group {group} already holds {segment.MaxChannels} channels, the limit this instance was started with");
        }

        ref var c = ref segment.Channel(group, index);
        c.Enabled = 0;
        c.MaxConnections = maxConnections;
        c.Connections = 0;
        c.TotalConnections = 0;
        c.Failures = 0;
        c.BytesSent = 0;
        c.BytesReceived = 0;
        c.EnabledChangedUnixMs = 0;
        ChannelAddress.Write(segment, group, index, host, address, port);
        Volatile.Write(ref c.Enabled, enabled ? 1 : 0);

        // Publishing the count last makes the complete record visible to the engine at once.
        Volatile.Write(ref segment.Group(group).ChannelCount, index + 1);
        Interlocked.Increment(ref segment.Header.StructureVersion);
        return index;
    }

    /// <summary>Points a disabled channel at a new destination; its counters are kept.</summary>
    public void Assign(int group, int channel, string host, int port)
    {
        RequireChannel(group, channel);
        ValidateDestination(host, port);
        var address = ChannelAddress.Resolve(host);
        using var l = LockStructure();
        if (Volatile.Read(ref segment.Channel(group, channel).Enabled) != 0)
        {
            throw new ControlException(ControlError.MustBeDisabled, $"channel {channel} of group {group} must be disabled to assign a new address; disable it first");
        }

        ChannelAddress.Write(segment, group, channel, host, address, port);
        Interlocked.Increment(ref segment.Header.StructureVersion);
    }

    /// <summary>
    /// Asks the engine to stop gracefully and waits until it has released the endpoint. Returns
    /// false when it was still running at the deadline.
    /// </summary>
    public bool Kill(TimeSpan wait)
    {
        Volatile.Write(ref segment.Header.KillRequested, 1);
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (true)
        {
            if (!FileLock.IsHeld(segment.Name.OwnerLockPath))
            {
                return true;
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>The grace period the engine was started with: how long a kill may take.</summary>
    public TimeSpan GracePeriod => TimeSpan.FromMilliseconds(Math.Max(0, segment.Header.GracePeriodMs));

    public IReadOnlyList<BalanceEvent> ReadEvents(ref long cursor) => EventRing.Read(segment, ref cursor);

    /// <summary>The sequence number the next event will get: a cursor that skips history.</summary>
    public long EventHead => Volatile.Read(ref segment.Header.EventHead);

    /// <summary>True while the engine holds the endpoint.</summary>
    public bool IsAlive => segment.State != EngineState.Stopped && FileLock.IsHeld(segment.Name.OwnerLockPath);

    public void Dispose() => segment.Dispose();

    private static void EnsureAlive(ControlSegment segment)
    {
        var pid = segment.Header.OwnerPid;
        if (segment.State == EngineState.Stopped)
        {
            throw new ControlException(ControlError.NotRunning, $"no master process: the instance on {ControlSegment.Endpoint(segment.Name)} has stopped");
        }

        if (!FileLock.IsHeld(segment.Name.OwnerLockPath))
        {
            throw new ControlException(ControlError.NotRunning, $"no master process with pid {pid}: the instance on {ControlSegment.Endpoint(segment.Name)} ended without cleaning up; start it again");
        }
    }

    private static void ValidateDestination(string host, int port)
    {
        if (string.IsNullOrWhiteSpace(host) || host.Length > ChannelSpec.MaxHostLength)
        {
            throw new ControlException(ControlError.InvalidAddress, $"invalid address [{host}]: give a host name or IP address of at most {ChannelSpec.MaxHostLength} characters");
        }

        if (port is < 1 or > 65535)
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid port [{port}]: use 1-65535");
        }
    }

    private void RequireChannel(int group, int channel)
    {
        var count = segment.ChannelCount(group);
        if ((uint)channel >= (uint)count)
        {
            throw new ControlException(ControlError.NoSuchChannel, count == 0
                ? $"no such channel {channel}: group {group} has no channels"
                : $"no such channel {channel}: group {group} has channels 0 to {count - 1}");
        }
    }

    private ChannelChange SetEnabled(int group, int channel, bool enabled)
    {
        RequireChannel(group, channel);
        ref var c = ref segment.Channel(group, channel);
        var want = enabled ? 1 : 0;
        if (Interlocked.Exchange(ref c.Enabled, want) == want)
        {
            return ChannelChange.Unchanged;
        }

        Volatile.Write(ref c.EnabledChangedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return ChannelChange.Changed;
    }

    private FileLock LockStructure() =>
        FileLock.Acquire(segment.Name.ControlLockPath, LockTimeout)
        ?? throw new ControlException(ControlError.Timeout, $"another control client held the lock of {ControlSegment.Endpoint(segment.Name)} for more than {LockTimeout.TotalSeconds} s; try again");
}
