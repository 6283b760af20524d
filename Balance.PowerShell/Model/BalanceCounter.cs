using System.Globalization;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// A channel's counters read for monitoring. <see cref="In"/> and <see cref="Out"/> follow MRTG's
/// meaning: for <see cref="CounterKind.Bytes"/> in = bytes from the back-end, out = bytes to it; for
/// <see cref="CounterKind.Connections"/> in = total sessions and out is not defined (null).
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
        In = kind == CounterKind.Bytes ? info.BytesReceived : info.TotalConnections;
        Out = kind == CounterKind.Bytes ? info.BytesSent : null;
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

    /// <summary>Which channel's counters these are, and the pair itself.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Kind} of channel {Index} of group {Group} on {InstanceTarget.Endpoint(BindAddress, Port)}: in {In}, out {Out?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
}
