using Balance.Control;

namespace Balance.PowerShell;

/// <summary>A running Balance instance at one moment, however it was started.</summary>
public sealed class BalanceInstance
{
    internal BalanceInstance(InstanceInfo info)
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

    /// <summary>The port the instance listens on.</summary>
    public int Port { get; }

    /// <summary>Listen address of the instance, normalised (e.g. <c>0.0.0.0</c> for every IPv4 address).</summary>
    public string BindAddress { get; }

    /// <summary><c>address:port</c>, as messages and job names show the instance.</summary>
    public string Endpoint => InstanceTarget.Endpoint(BindAddress, Port);

    /// <summary>The process that runs the engine (this session's for a job).</summary>
    public int ProcessId { get; }

    /// <summary>Initializing, Running, Stopping or Stopped.</summary>
    public EngineState State { get; }

    /// <summary>When the engine started.</summary>
    public DateTimeOffset StartTime { get; }

    /// <summary>Time since <see cref="StartTime"/> when the instance was read.</summary>
    public TimeSpan Uptime { get; }

    /// <summary>Groups that hold at least one channel.</summary>
    public int GroupCount { get; }

    /// <summary>Channels over every group.</summary>
    public int ChannelCount { get; }

    /// <summary>Groups the instance has room for.</summary>
    public int MaxGroups { get; }

    /// <summary>Channels per group the instance has room for.</summary>
    public int MaxChannels { get; }

    /// <summary>The Balance version that runs the engine.</summary>
    public string Version { get; }

    /// <summary>True when a failed connect disables the channel (<c>-a</c>, -AutoDisable).</summary>
    public bool AutoDisable { get; }

    /// <summary>True when a hash group tries its next channels when the hashed one cannot serve (<c>-H</c>).</summary>
    public bool HashFailover { get; }

    /// <summary>True when the instance was started for IPv6 (<c>-6</c>).</summary>
    public bool IPv6 { get; }

    /// <summary>How long a back-end connect may take before the next channel is tried.</summary>
    public TimeSpan ConnectTimeout { get; }

    /// <summary>How long a session may stay silent both ways before it is closed; zero = never.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Workers relaying this instance's connections (one counter stripe each in the segment).</summary>
    public int Workers { get; }

    /// <summary>Client connections accepted by the listener, whatever their outcome.</summary>
    public long Accepted { get; }

    /// <summary>Accepted connections closed because no channel was usable.</summary>
    public long Rejected { get; }

    /// <summary>The control segment file, for diagnosing a stale or foreign instance.</summary>
    public string SegmentPath { get; }

    /// <summary>The health checks the instance runs: interval, timeout, rise, fall (active), max-fails, fail-timeout (passive); zero = off.</summary>
    public HealthCheckSettings HealthChecks { get; }

    /// <inheritdoc/>
    public override string ToString() => Endpoint;
}
