using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>One failover tier of an instance at one moment.</summary>
public sealed class BalanceGroup
{
    public BalanceGroup(int port, string bindAddress, GroupInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        Port = port;
        BindAddress = bindAddress;
        Group = info.Group;
        Type = info.Type;
        Policy = info.Policy;
        ChannelCount = info.ChannelCount;
    }

    public int Port { get; }

    public string BindAddress { get; }

    public int Group { get; }

    public GroupType Type { get; }

    /// <summary>The policy's name (the same as <see cref="Type"/> for every policy this build knows; "policy N" for one it does not).</summary>
    public string Policy { get; }

    public int ChannelCount { get; }

    /// <summary>Which group this is, as the other cmdlets' messages name it.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"group {Group} on {InstanceTarget.Endpoint(BindAddress, Port)} ({Policy}, {ChannelCount} channel(s))");
}
