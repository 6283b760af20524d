using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>One back-end channel and its counters at one moment (the cmdlet form of a <c>show</c> line).</summary>
public sealed class BalanceChannel
{
    internal BalanceChannel(int port, string bindAddress, ChannelInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        Port = port;
        BindAddress = bindAddress;
        Group = info.Group;
        GroupType = info.GroupType;
        Index = info.Index;
        Destination = info.Destination;
        Host = info.Host;
        RemotePort = info.Port;
        Address = info.Address.ToString();
        Enabled = info.Enabled;
        MaxConnections = info.MaxConnections;
        Connections = info.Connections;
        TotalConnections = info.TotalConnections;
        Failures = info.Failures;
        BytesSent = info.BytesSent;
        BytesReceived = info.BytesReceived;
        AdminState = info.AdminState;
        Health = info.Health;
        HealthChanged = info.HealthChanged;
        LastCheck = info.LastCheck;
        LastCheckResult = info.LastCheckResult;
        Serving = info.Serving;
        Weight = info.Weight;
    }

    /// <summary>Listen port of the instance the channel belongs to.</summary>
    public int Port { get; }

    /// <summary>Listen address of the instance, normalised (e.g. <c>0.0.0.0</c> for every IPv4 address).</summary>
    public string BindAddress { get; }

    /// <summary>The group the channel belongs to.</summary>
    public int Group { get; }

    /// <summary>How the channel's group picks a channel.</summary>
    public GroupType GroupType { get; }

    /// <summary>The channel's position in its group, as the shell and the cmdlets address it.</summary>
    public int Index { get; }

    /// <summary><c>host:port</c> as given, IPv6 literals in brackets.</summary>
    public string Destination { get; }

    /// <summary>The back-end's host as given (name or literal).</summary>
    public string Host { get; }

    /// <summary>Port of the back-end.</summary>
    public int RemotePort { get; }

    /// <summary>The address the host resolved to.</summary>
    public string Address { get; }

    /// <summary>True when the admin state is Enabled (not Disabled or Draining).</summary>
    public bool Enabled { get; }

    /// <summary>0 = unlimited.</summary>
    public int MaxConnections { get; }

    /// <summary>Live sessions plus connects in progress.</summary>
    public int Connections { get; }

    /// <summary>Sessions whose back-end connect succeeded.</summary>
    public long TotalConnections { get; }

    /// <summary>Back-end connect attempts that failed.</summary>
    public long Failures { get; }

    /// <summary>Bytes client to back-end.</summary>
    public long BytesSent { get; }

    /// <summary>Bytes back-end to client.</summary>
    public long BytesReceived { get; }

    /// <summary>Enabled, Disabled or Draining: what people and scripts set (<see cref="Enabled"/> is true for Enabled only).</summary>
    public ChannelAdminState AdminState { get; }

    /// <summary>Unknown, Up or Down: what the engine's health checks found (Unknown without checks).</summary>
    public ChannelHealth Health { get; }

    /// <summary>When the health last changed; null = never since start.</summary>
    public DateTimeOffset? HealthChanged { get; }

    /// <summary>When the last active check ended; null = never checked.</summary>
    public DateTimeOffset? LastCheck { get; }

    /// <summary>How the last active check ended (None before the first).</summary>
    public CheckResult LastCheckResult { get; }

    /// <summary>True when new sessions may come: enabled, not down, weight above zero.</summary>
    public bool Serving { get; }

    /// <summary>The channel's share of new clients under weighted policies, 0 (none) to 256; 1 unless set.</summary>
    public int Weight { get; }

    /// <summary>Which channel this is, as the other cmdlets' messages name it.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"channel {Index} of group {Group} on {InstanceTarget.Endpoint(BindAddress, Port)} ({Destination})");
}
