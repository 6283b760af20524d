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
    string SegmentPath);

/// <summary>One group at one moment.</summary>
public sealed record GroupInfo(int Group, GroupType Type, int ChannelCount, int RoundRobinPosition);

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
    public string Destination => ChannelSpec.FormatDestination(Host, Port);
}

/// <summary>Everything a <c>show</c> needs, read in one pass.</summary>
public sealed record BalanceSnapshot(InstanceInfo Instance, IReadOnlyList<GroupInfo> Groups, IReadOnlyList<ChannelInfo> Channels);

/// <summary>Outcome of an enable/disable: whether the flag actually changed.</summary>
public enum ChannelChange
{
    Changed,
    Unchanged,
}
