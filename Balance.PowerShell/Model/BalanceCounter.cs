using System.Globalization;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// A channel's counters read for monitoring. <see cref="In"/> and <see cref="Out"/> follow MRTG's
/// meaning: for <see cref="CounterKind.Bytes"/> in = bytes from the back-end, out = bytes to it; for
/// <see cref="CounterKind.Connections"/> in = total sessions and out is not defined (null); for
/// <see cref="CounterKind.Health"/> in = 1 when not down, out = 1 when enabled. Every kind carries the states.
/// </summary>
public sealed class BalanceCounter
{
    public BalanceCounter(int port, string bindAddress, ChannelInfo info, CounterKind kind, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(info);
        Port = port;
        BindAddress = bindAddress;
        Group = info.Group;
        Index = info.Index;
        Destination = info.Destination;
        Kind = kind;
        Timestamp = timestamp;
        TotalConnections = info.TotalConnections;
        Failures = info.Failures;
        Connections = info.Connections;
        BytesSent = info.BytesSent;
        BytesReceived = info.BytesReceived;
        (In, Out) = kind switch
        {
            CounterKind.Bytes => (info.BytesReceived, (long?)info.BytesSent),
            CounterKind.Health => (info.Health == ChannelHealth.Down ? 0L : 1L, (long?)(info.Enabled ? 1L : 0L)),
            _ => (info.TotalConnections, null),
        };
        AdminState = info.AdminState;
        Health = info.Health;
        LastCheck = info.LastCheck;
        LastCheckResult = info.LastCheckResult;
    }

    public int Port { get; }

    public string BindAddress { get; }

    public int Group { get; }

    public int Index { get; }

    public string Destination { get; }

    public CounterKind Kind { get; }

    public DateTimeOffset Timestamp { get; }

    public long In { get; }

    public long? Out { get; }

    /// <summary>The MRTG target name, as the original prints it.</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"group {Group} channel {Index}");

    public long TotalConnections { get; }

    public long Failures { get; }

    public int Connections { get; }

    public long BytesSent { get; }

    public long BytesReceived { get; }

    /// <summary>Enabled, Disabled or Draining.</summary>
    public ChannelAdminState AdminState { get; }

    /// <summary>Unknown, Up or Down.</summary>
    public ChannelHealth Health { get; }

    /// <summary>When the last active check ended; null = never checked.</summary>
    public DateTimeOffset? LastCheck { get; }

    /// <summary>How the last active check ended.</summary>
    public CheckResult LastCheckResult { get; }

    /// <summary>Which channel's counters these are, and the pair itself.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Kind} of channel {Index} of group {Group} on {InstanceTarget.Endpoint(BindAddress, Port)}: in {In}, out {Out?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
}
