using System.Net;
using Balance.Configuration;

namespace Balance.Control;

/// <summary>A running instance as seen through its segment, at one moment.</summary>
public sealed record InstanceInfo(
    string BindAddress,
    int Port,
    int ProcessId,
    EngineState State,
    DateTimeOffset StartTime,
    TimeSpan Uptime,
    int MaxGroups,
    int MaxChannels,
    int GroupCount,
    int ChannelCount,
    string Version,
    EngineFlags Flags,
    TimeSpan ConnectTimeout,
    TimeSpan IdleTimeout,
    long Accepted,
    long Rejected,
    string SegmentPath)
{
    /// <summary>Counter stripes in the segment: one per worker; every counter above is their sum.</summary>
    public int CounterStripes { get; init; } = 1;

    /// <summary>The segment's change version: moves with every create, assign, policy or weight change.</summary>
    public int ChangeVersion { get; init; }

    /// <summary>The health checks the engine runs (both kinds off unless it was started with them).</summary>
    public HealthCheckSettings Checks { get; init; } = HealthCheckSettings.Off;
}

/// <summary>An instance's health check settings as its segment records them (the check strings stay in the engine).</summary>
public sealed record HealthCheckSettings(TimeSpan Interval, TimeSpan Timeout, int Rise, int Fall, int MaxFails, TimeSpan FailTimeout, CheckFlags Flags)
{
    /// <summary>No checks.</summary>
    public static HealthCheckSettings Off { get; } = new(TimeSpan.Zero, TimeSpan.Zero, 0, 0, 0, TimeSpan.Zero, CheckFlags.None);

    /// <summary>True when active checks run.</summary>
    public bool Active => Interval > TimeSpan.Zero;

    /// <summary>True when failed client connects count.</summary>
    public bool Passive => MaxFails > 0;
}

/// <summary>One group at one moment. <see cref="Type"/> is the policy id as the original's group type.</summary>
public sealed record GroupInfo(int Group, GroupType Type, int ChannelCount, int RoundRobinPosition)
{
    /// <summary>The policy id stored in the segment (open: later policies take later ids).</summary>
    public int PolicyId { get; init; }

    /// <summary>The policy's name ("RoundRobin", "Hash"; "policy N" for an id this build does not know).</summary>
    public string Policy { get; init; } = string.Empty;
}

/// <summary>One channel and its counters at one moment.</summary>
public sealed record ChannelInfo(
    int Group,
    GroupType GroupType,
    int Index,
    string Host,
    int Port,
    IPAddress Address,
    bool Enabled,
    int MaxConnections,
    int Connections,
    long TotalConnections,
    long Failures,
    long BytesSent,
    long BytesReceived)
{
    /// <summary>"host:port" as <c>show</c> and the cmdlets print it.</summary>
    public string Destination => ChannelSpec.FormatDestination(Host, Port);

    /// <summary>The stable id: unique within the instance, independent of the position.</summary>
    public int Id { get; init; }

    /// <summary>Enabled, disabled or draining; <see cref="Enabled"/> is true for enabled only.</summary>
    public ChannelAdminState AdminState { get; init; }

    /// <summary>What the engine knows of the back-end (unknown until health checks exist).</summary>
    public ChannelHealth Health { get; init; }

    /// <summary>Relative share for weighted policies; 1 unless set.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>What set the health last: active checks, clients' failed connects, or nothing yet.</summary>
    public HealthSource HealthSource { get; init; }

    /// <summary>When the health last changed; null = never since start.</summary>
    public DateTimeOffset? HealthChanged { get; init; }

    /// <summary>When the last active check ended; null = never checked.</summary>
    public DateTimeOffset? LastCheck { get; init; }

    /// <summary>How the last active check ended (<see cref="CheckResult.None"/> before the first).</summary>
    public CheckResult LastCheckResult { get; init; }

    /// <summary>How long the last active check took.</summary>
    public TimeSpan LastCheckDuration { get; init; }

    /// <summary>Active check results in a row: positive passed, negative failed.</summary>
    public int CheckStreak { get; init; }

    /// <summary>Clients' failed connects in a row (passive checks).</summary>
    public int PassiveFailures { get; init; }

    /// <summary>This channel's own check settings; zero fields follow the instance.</summary>
    public ChannelCheckOverrides CheckOverrides { get; init; } = ChannelCheckOverrides.None;

    /// <summary>True when new sessions may come: enabled, not down, weight above zero (maxc aside).</summary>
    public bool Serving => AdminState == ChannelAdminState.Enabled && Health != ChannelHealth.Down && Weight > 0;
}

/// <summary>A channel's own active check settings; 0 in a field = the instance's value (the port: the channel's).</summary>
public sealed record ChannelCheckOverrides(int IntervalMs, int Rise, int Fall, int Port)
{
    /// <summary>Every setting from the instance.</summary>
    public static ChannelCheckOverrides None { get; } = new(0, 0, 0, 0);
}

/// <summary>Everything a <c>show</c> needs, read in one pass.</summary>
public sealed record BalanceSnapshot(InstanceInfo Instance, IReadOnlyList<GroupInfo> Groups, IReadOnlyList<ChannelInfo> Channels);

/// <summary>Outcome of an admin state change: whether the state actually changed.</summary>
public enum ChannelChange
{
    /// <summary>The channel was in the other state and now is in the one asked for.</summary>
    Changed,

    /// <summary>The channel already was in the state asked for.</summary>
    Unchanged,
}
