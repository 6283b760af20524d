using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>One failover tier of an instance at one moment.</summary>
public sealed class BalanceGroup
{
    internal BalanceGroup(int port, string bindAddress, GroupInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        Port = port;
        BindAddress = bindAddress;
        Group = info.Group;
        Type = info.Type;
        Policy = info.Policy;
        ChannelCount = info.ChannelCount;
    }

    /// <summary>Listen port of the instance the group belongs to.</summary>
    public int Port { get; }

    /// <summary>Listen address of the instance, normalised (e.g. <c>0.0.0.0</c> for every IPv4 address).</summary>
    public string BindAddress { get; }

    /// <summary>The group's index: clients fall through groups in this order.</summary>
    public int Group { get; }

    /// <summary>How the group picks a channel.</summary>
    public GroupType Type { get; }

    /// <summary>The policy's name (the same as <see cref="Type"/> for every policy this build knows; "policy N" for one it does not).</summary>
    public string Policy { get; }

    /// <summary>Channels in the group, enabled or not.</summary>
    public int ChannelCount { get; }

    /// <summary>Which group this is, as the other cmdlets' messages name it.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"group {Group} on {InstanceTarget.Endpoint(BindAddress, Port)} ({Policy}, {ChannelCount} channel(s))");
}
