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
    internal BalanceCounter(int port, string bindAddress, ChannelInfo info, CounterKind kind, DateTimeOffset timestamp)
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

    /// <summary>Listen port of the instance the channel belongs to.</summary>
    public int Port { get; }

    /// <summary>Listen address of the instance, normalised (e.g. <c>0.0.0.0</c> for every IPv4 address).</summary>
    public string BindAddress { get; }

    /// <summary>The group the channel belongs to.</summary>
    public int Group { get; }

    /// <summary>The channel's position in its group.</summary>
    public int Index { get; }

    /// <summary><c>host:port</c> of the back-end, IPv6 literals in brackets.</summary>
    public string Destination { get; }

    /// <summary>Which counter pair <see cref="In"/> and <see cref="Out"/> carry.</summary>
    public CounterKind Kind { get; }

    /// <summary>When the counters were read.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>MRTG's first value for <see cref="Kind"/> (see the type's summary).</summary>
    public long In { get; }

    /// <summary>MRTG's second value for <see cref="Kind"/>; null for Connections, which has none.</summary>
    public long? Out { get; }

    /// <summary>The MRTG target name, as the original prints it.</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"group {Group} channel {Index}");

    /// <summary>Sessions whose back-end connect succeeded.</summary>
    public long TotalConnections { get; }

    /// <summary>Back-end connect attempts that failed.</summary>
    public long Failures { get; }

    /// <summary>Live sessions plus connects in progress.</summary>
    public int Connections { get; }

    /// <summary>Bytes client to back-end.</summary>
    public long BytesSent { get; }

    /// <summary>Bytes back-end to client.</summary>
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
