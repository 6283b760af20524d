using Balance.Control;

namespace Balance.PowerShell;

/// <summary>A running Balance instance at one moment, however it was started.</summary>
public sealed class BalanceInstance
{
    public BalanceInstance(InstanceInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        Port = info.Port;
        BindAddress = info.BindAddress;
        ProcessId = info.ProcessId;
        State = info.State;
        StartTime = info.StartTime;
        Uptime = info.Uptime;
        GroupCount = info.GroupCount;
        ChannelCount = info.ChannelCount;
        MaxGroups = info.MaxGroups;
        MaxChannels = info.MaxChannels;
        Version = info.Version;
        AutoDisable = info.Flags.HasFlag(EngineFlags.AutoDisable);
        HashFailover = info.Flags.HasFlag(EngineFlags.HashFailover);
        IPv6 = info.Flags.HasFlag(EngineFlags.IPv6);
        ConnectTimeout = info.ConnectTimeout;
        IdleTimeout = info.IdleTimeout;
        Workers = info.CounterStripes;
        Accepted = info.Accepted;
        Rejected = info.Rejected;
        SegmentPath = info.SegmentPath;
        HealthChecks = info.Checks;
    }

    public int Port { get; }

    public string BindAddress { get; }

    public string Endpoint => InstanceTarget.Endpoint(BindAddress, Port);

    public int ProcessId { get; }

    public EngineState State { get; }

    public DateTimeOffset StartTime { get; }

    public TimeSpan Uptime { get; }

    public int GroupCount { get; }

    public int ChannelCount { get; }

    public int MaxGroups { get; }

    public int MaxChannels { get; }

    public string Version { get; }

    public bool AutoDisable { get; }

    public bool HashFailover { get; }

    public bool IPv6 { get; }

    public TimeSpan ConnectTimeout { get; }

    public TimeSpan IdleTimeout { get; }

    /// <summary>Workers relaying this instance's connections (one counter stripe each in the segment).</summary>
    public int Workers { get; }

    /// <summary>Client connections accepted by the listener, whatever their outcome.</summary>
    public long Accepted { get; }

    /// <summary>Accepted connections closed because no channel was usable.</summary>
    public long Rejected { get; }

    public string SegmentPath { get; }

    /// <summary>The health checks the instance runs: interval, timeout, rise, fall (active), max-fails, fail-timeout (passive); zero = off.</summary>
    public HealthCheckSettings HealthChecks { get; }

    public override string ToString() => Endpoint;
}
