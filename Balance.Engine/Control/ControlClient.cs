using Balance.Configuration;
using Balance.Policies;

namespace Balance.Control;

/// <summary>
/// The typed control API of a running instance: every front end (the <c>-i</c>/<c>-c</c> shell, the
/// cmdlets, scheduled exports) goes through it, and it goes only through the segment. Counter and
/// state changes are single atomic writes; changes the engine rebuilds its private structures for
/// (create, assign, policy, weight) take the cross-process control lock and bump the change version.
/// </summary>
public sealed class ControlClient : IDisposable
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(5);
    private readonly ControlSegment segment;

    private ControlClient(ControlSegment segment)
    {
        this.segment = segment;
    }

    /// <summary>The instance this client controls.</summary>
    public SegmentName Name => segment.Name;

    /// <summary>How many groups the instance has room for (valid group indexes are below it).</summary>
    public int MaxGroups => segment.MaxGroups;

    /// <summary>How many channels each group has room for.</summary>
    public int MaxChannels => segment.MaxChannels;

    /// <summary>The mapped segment, for in-process readers that need more than the typed API (tests, benchmarks).</summary>
    internal ControlSegment Segment => segment;

    /// <summary>A client over the engine's own segment, for the engine's own readers (the state file); never disposed by them.</summary>
    internal static ControlClient ForEngine(ControlSegment segment) => new(segment);

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

    /// <summary>Opens the instance named <paramref name="name"/>; throws <see cref="ControlException"/> when no live engine serves it.</summary>
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

    /// <summary>The instance's settings, state and counters summed over every worker.</summary>
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
        var totals = segment.SumInstanceStripes();
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
            totals.Accepted,
            totals.Rejected,
            segment.Name.Path)
        {
            CounterStripes = segment.StripeCount,
            ChangeVersion = Volatile.Read(ref h.ChangeVersion),
            Checks = new HealthCheckSettings(
                TimeSpan.FromMilliseconds(Math.Max(0, h.CheckIntervalMs)),
                TimeSpan.FromMilliseconds(Math.Max(0, h.CheckTimeoutMs)),
                h.Rise,
                h.Fall,
                h.MaxFails,
                TimeSpan.FromMilliseconds(Math.Max(0, h.FailTimeoutMs)),
                (CheckFlags)h.CheckFlags),
        };
    }

    /// <summary>One group's policy, channel count and round-robin position.</summary>
    public GroupInfo GetGroup(int group)
    {
        ref var g = ref segment.Group(group);
        var policy = segment.PolicyOf(group);
        return new GroupInfo(group, (GroupType)policy, segment.ChannelCount(group), Math.Clamp(Volatile.Read(ref g.RoundRobinPosition), 0, segment.MaxChannels))
        {
            PolicyId = policy,
            Policy = PolicyCatalog.NameOf(policy),
        };
    }

    /// <summary>Every group in index order; groups without channels only when <paramref name="includeEmpty"/> is set.</summary>
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

    /// <summary>One channel's address, states, limits and counters summed over every worker.</summary>
    public ChannelInfo GetChannel(int group, int channel)
    {
        RequireChannel(group, channel);
        var c = segment.Channel(group, channel);
        var endpoint = ChannelAddress.Read(segment, group, channel, out _);
        var counters = segment.SumStripes(group, channel);
        var admin = c.AdminState;
        return new ChannelInfo(
            group,
            segment.GroupTypeOf(group),
            channel,
            segment.ReadDestination(group, channel),
            endpoint.Port,
            endpoint.Address,
            admin == ChannelAdminState.Enabled,
            c.MaxConnections,
            c.Connections,
            counters.TotalConnections,
            counters.Failures,
            counters.BytesSent,
            counters.BytesReceived)
        {
            Id = c.Id,
            AdminState = admin,
            Health = c.Health,
            Weight = c.Weight,
        }.WithHealth(ref segment.Record(group, channel));
    }

    /// <summary>Every channel of <paramref name="group"/>, in index order.</summary>
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

    /// <summary>The instance, its non-empty groups and their channels, as <c>show</c> prints them.</summary>
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

    /// <summary>Sets the admin state to enabled (the original's <c>enable</c>).</summary>
    public ChannelChange Enable(int group, int channel) => SetAdminState(group, channel, ChannelAdminState.Enabled);

    /// <summary>Sets the admin state to disabled (the original's <c>disable</c>).</summary>
    public ChannelChange Disable(int group, int channel) => SetAdminState(group, channel, ChannelAdminState.Disabled);

    /// <summary>Sets the admin state: enabled, disabled, or draining (live sessions stay, no new ones come).</summary>
    public ChannelChange SetAdminState(int group, int channel, ChannelAdminState state)
    {
        RequireChannel(group, channel);
        if (!Enum.IsDefined(state))
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid admin state [{state}]: use Enabled, Disabled or Draining");
        }

        ref var c = ref segment.Record(group, channel);
        if (Interlocked.Exchange(ref c.AdminState, (int)state) == (int)state)
        {
            return ChannelChange.Unchanged;
        }

        Volatile.Write(ref c.AdminChangedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return ChannelChange.Changed;
    }

    /// <summary>Sets the admin state to draining: live sessions continue, no new one comes.</summary>
    public ChannelChange Drain(int group, int channel) => SetAdminState(group, channel, ChannelAdminState.Draining);

    /// <summary>Live sessions plus connects in progress of a channel ("c").</summary>
    public int LiveConnections(int group, int channel)
    {
        RequireChannel(group, channel);
        return Volatile.Read(ref segment.Record(group, channel).Connections);
    }

    /// <summary>
    /// Waits until the channels' live connections are all 0 (a drain's end) or the timeout; returns
    /// how many are left (0 when drained). Polls the segment: nothing in the engine waits for it.
    /// </summary>
    public int WaitForDrain(IReadOnlyCollection<(int Group, int Channel)> channels, TimeSpan timeout, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(channels);
        var deadline = Environment.TickCount64 + (long)Math.Max(0, timeout.TotalMilliseconds);
        while (true)
        {
            var left = channels.Sum(c => LiveConnections(c.Group, c.Channel));
            if (left == 0 || Environment.TickCount64 >= deadline || cancel.IsCancellationRequested || !IsAlive)
            {
                return left;
            }

            cancel.WaitHandle.WaitOne(DrainPoll);
        }
    }

    /// <summary>Asks the engine to close the channel's live sessions (a drain forced at its timeout); every worker does it on its next tick.</summary>
    public void CloseSessions(int group, int channel)
    {
        RequireChannel(group, channel);
        Interlocked.Increment(ref segment.Record(group, channel).CloseRequest);
        Interlocked.Increment(ref segment.Header.CloseRequests);
    }

    /// <summary>
    /// Sets a channel's own active check settings (0 in a field = the instance's); they apply from
    /// its next check. Refused, changing nothing, when a value is out of range.
    /// </summary>
    public void SetCheckOverrides(int group, int channel, ChannelCheckOverrides overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        RequireChannel(group, channel);
        if (overrides.IntervalMs != 0 && (overrides.IntervalMs < 10 || overrides.IntervalMs > HealthCheckOptions.MaxPeriod.TotalMilliseconds))
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid check interval [{overrides.IntervalMs} ms]: use 10 ms to 1 hour, or 0 for the instance's");
        }

        if (overrides.Rise is < 0 or > HealthCheckOptions.MaxCount || overrides.Fall is < 0 or > HealthCheckOptions.MaxCount)
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid rise [{overrides.Rise}] or fall [{overrides.Fall}]: use 1 to {HealthCheckOptions.MaxCount}, or 0 for the instance's");
        }

        if (overrides.Port is < 0 or > 65535)
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid check port [{overrides.Port}]: use 1-65535, or 0 for the channel's port");
        }

        ref var c = ref segment.Record(group, channel);
        Volatile.Write(ref c.CheckIntervalMs, overrides.IntervalMs);
        Volatile.Write(ref c.Rise, overrides.Rise);
        Volatile.Write(ref c.Fall, overrides.Fall);
        Volatile.Write(ref c.CheckPort, overrides.Port);
    }

    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>Sets a channel's weight, 0 (no new sessions) to <see cref="MaxWeight"/>; weighted policies rebuild on it.</summary>
    public void SetWeight(int group, int channel, int weight)
    {
        RequireChannel(group, channel);
        if (weight is < 0 or > MaxWeight)
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid weight [{weight}]: use 0 (no new sessions) to {MaxWeight}");
        }

        using var l = LockStructure();
        Volatile.Write(ref segment.Record(group, channel).Weight, weight);
        Interlocked.Increment(ref segment.Header.ChangeVersion);
    }

    /// <summary>The largest weight a channel takes (haproxy's limit).</summary>
    public const int MaxWeight = 256;

    /// <summary>Sets how many sessions the channel may hold at once; 0 = unlimited.</summary>
    public void SetMaxConnections(int group, int channel, int maxConnections)
    {
        RequireChannel(group, channel);
        if (maxConnections < 0)
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid maxc [{maxConnections}]: use 0 (unlimited) or a positive number");
        }

        Volatile.Write(ref segment.Record(group, channel).MaxConnections, maxConnections);
    }

    /// <summary>Zeroes total, failures and byte counters in every worker's stripe. The live count is not a counter but a fact, so it stays.</summary>
    public void ResetCounters(int group, int channel)
    {
        RequireChannel(group, channel);
        segment.Channel(group, channel).ResetCounters();
    }

    /// <summary>Sets a group's policy by its <see cref="GroupType"/> (the policy id under a name); see <see cref="SetPolicy"/>.</summary>
    public void SetGroupType(int group, GroupType type)
    {
        segment.Group(group);
        if (!Enum.IsDefined(type))
        {
            throw new ControlException(ControlError.InvalidArgument, $"invalid group type [{type}]: use {string.Join(", ", Enum.GetNames<GroupType>())}");
        }

        SetPolicy(group, (int)type);
    }

    /// <summary>Sets a group's policy by id (<see cref="PolicyCatalog"/>); refused when the running engine does not know the id.</summary>
    public void SetPolicy(int group, int policyId)
    {
        segment.Group(group);
        var known = Volatile.Read(ref segment.Header.PolicyMask);
        if ((uint)policyId >= 31 || (known & (1 << policyId)) == 0)
        {
            var names = string.Join(", ", Enumerable.Range(0, 31).Where(i => (known & (1 << i)) != 0).Select(PolicyCatalog.NameOf));
            throw new ControlException(ControlError.InvalidArgument, $"invalid policy [{PolicyCatalog.NameOf(policyId)}]: the instance on {ControlSegment.Endpoint(segment.Name)} knows {names}");
        }

        using var l = LockStructure();
        Volatile.Write(ref segment.Group(group).Policy, policyId);
        Interlocked.Increment(ref segment.Header.ChangeVersion);
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

        ref var c = ref segment.Record(group, index);
        c.AdminState = (int)ChannelAdminState.Disabled;
        c.Health = (int)ChannelHealth.Unknown;
        c.Weight = 1;
        c.MaxConnections = maxConnections;
        c.Connections = 0;
        c.AdminChangedUnixMs = 0;
        c.HealthChangedUnixMs = 0;
        HealthFields.Clear(ref c);
        c.Id = Interlocked.Increment(ref segment.Header.LastChannelId);
        segment.Channel(group, index).ResetCounters();
        ChannelAddress.Write(segment, group, index, host, address, port);
        Volatile.Write(ref c.AdminState, (int)(enabled ? ChannelAdminState.Enabled : ChannelAdminState.Disabled));

        // Publishing the count last makes the complete record visible to the engine at once.
        Volatile.Write(ref segment.Group(group).ChannelCount, index + 1);
        Interlocked.Increment(ref segment.Header.ChangeVersion);
        return index;
    }

    /// <summary>Points a disabled channel at a new destination; its counters are kept.</summary>
    public void Assign(int group, int channel, string host, int port)
    {
        RequireChannel(group, channel);
        ValidateDestination(host, port);
        var address = ChannelAddress.Resolve(host);
        using var l = LockStructure();
        if (Volatile.Read(ref segment.Record(group, channel).AdminState) != (int)ChannelAdminState.Disabled)
        {
            throw new ControlException(ControlError.MustBeDisabled, $"channel {channel} of group {group} must be disabled to assign a new address; disable it first");
        }

        ChannelAddress.Write(segment, group, channel, host, address, port);
        Interlocked.Increment(ref segment.Header.ChangeVersion);
    }

    /// <summary>
    /// Asks the engine to stop gracefully and waits until it has released the endpoint. Returns
    /// false when it was still running at the deadline; see <see cref="Stop"/> for why.
    /// </summary>
    public bool Kill(TimeSpan wait) => Stop(wait) == StopOutcome.Stopped;

    /// <summary>
    /// Asks the engine to stop gracefully and waits up to <paramref name="wait"/> for it to release
    /// the endpoint. A request the engine has not taken by then (a stopped or hung process) is
    /// withdrawn, so it cannot stop later by surprise (<see cref="StopOutcome.Withdrawn"/>); one it
    /// took is under way and cannot be withdrawn (<see cref="StopOutcome.Pending"/>).
    /// </summary>
    public StopOutcome Stop(TimeSpan wait)
    {
        ref var request = ref segment.Header.KillRequested;
        Interlocked.CompareExchange(ref request, KillRequest.Asked, KillRequest.None);
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (FileLock.IsHeld(segment.Name.OwnerLockPath))
        {
            if (Environment.TickCount64 >= deadline)
            {
                // None: another client that gave up withdrew it already.
                return Interlocked.CompareExchange(ref request, KillRequest.None, KillRequest.Asked) == KillRequest.Taken
                    ? StopOutcome.Pending
                    : StopOutcome.Withdrawn;
            }

            Thread.Sleep(20);
        }

        return StopOutcome.Stopped;
    }

    /// <summary>The grace period the engine was started with: how long a kill may take.</summary>
    public TimeSpan GracePeriod => TimeSpan.FromMilliseconds(Math.Max(0, segment.Header.GracePeriodMs));

    /// <summary>Events from <paramref name="cursor"/> on, oldest first, advancing the cursor past them; overwritten events are skipped.</summary>
    public IReadOnlyList<BalanceEvent> ReadEvents(ref long cursor) => EventRing.Read(segment, ref cursor);

    /// <summary>The sequence number the next event will get: a cursor that skips history.</summary>
    public long EventHead => Volatile.Read(ref segment.Header.EventHead);

    /// <summary>True while the engine holds the endpoint.</summary>
    public bool IsAlive => segment.State != EngineState.Stopped && FileLock.IsHeld(segment.Name.OwnerLockPath);

    /// <summary>Unmaps the segment; the engine keeps running.</summary>
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

    /// <summary>The control byte of the engine's owner file: the engine created that file, so nobody else can have taken the name.</summary>
    private FileLock LockStructure()
    {
        FileLock? held;
        try
        {
            held = FileLock.AcquireControl(segment.Name.OwnerLockPath, LockTimeout);
        }
        catch (FileNotFoundException e)
        {
            throw new ControlException(ControlError.NotRunning, $"no master process: the instance on {ControlSegment.Endpoint(segment.Name)} has stopped", e);
        }
        catch (ForeignFileException e)
        {
            throw new ControlException(ControlError.PermissionDenied, $"permission denied: {e.Message}", e);
        }

        return held ?? throw new ControlException(ControlError.Timeout, $"another control client held the lock of {ControlSegment.Endpoint(segment.Name)} for more than {LockTimeout.TotalSeconds} s; try again");
    }
}

/// <summary>How a <see cref="ControlClient.Stop"/> ended.</summary>
public enum StopOutcome
{
    /// <summary>The engine released the endpoint.</summary>
    Stopped,

    /// <summary>The engine never took the request in time; it was withdrawn and nothing stops later.</summary>
    Withdrawn,

    /// <summary>The engine took the request and is stopping, but had not finished at the deadline.</summary>
    Pending,
}
