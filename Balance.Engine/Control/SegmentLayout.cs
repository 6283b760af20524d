using System.Runtime.InteropServices;

namespace Balance.Control;

/// <summary>
/// The byte layout of a control segment. All records are fixed-size and naturally aligned so that
/// 32- and 64-bit counters can be updated with <see cref="System.Threading.Interlocked"/> by any
/// process that maps the segment.
/// <code>
/// [ SegmentHeader 512 ][ GroupRecord 64 x MaxGroups ][ ChannelRecord 192 x MaxGroups x MaxChannels ][ EventRecord 128 x EventCapacity ]
/// </code>
/// Changing any record's size or meaning requires a new <see cref="LayoutVersion"/>.
/// </summary>
public static class SegmentLayout
{
    /// <summary>"BALS" in little-endian byte order.</summary>
    public const uint Magic = 0x534C4142;

    public const uint LayoutVersion = 1;
    public const int HeaderSize = 512;
    public const int GroupRecordSize = 64;
    public const int ChannelRecordSize = 192;
    public const int EventRecordSize = 128;
    public const int DefaultEventCapacity = 256;
    public const int MaxEventCapacity = 65536;

    public static long GroupsOffset => HeaderSize;

    public static long ChannelsOffset(int maxGroups) => GroupsOffset + ((long)maxGroups * GroupRecordSize);

    public static long EventsOffset(int maxGroups, int maxChannels) =>
        ChannelsOffset(maxGroups) + ((long)maxGroups * maxChannels * ChannelRecordSize);

    public static long TotalSize(int maxGroups, int maxChannels, int eventCapacity) =>
        EventsOffset(maxGroups, maxChannels) + ((long)eventCapacity * EventRecordSize);
}

/// <summary>Lifecycle of the engine that owns a segment.</summary>
public enum EngineState
{
    Initializing = 0,
    Running = 1,
    Stopping = 2,
    Stopped = 3,
}

[Flags]
public enum EngineFlags
{
    None = 0,
    AutoDisable = 1,
    HashFailover = 2,
    IPv6 = 4,
    PacketDump = 8,
    Debug = 16,
}

[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.HeaderSize)]
public unsafe struct SegmentHeader
{
    public const int TextCapacity = 64;

    [FieldOffset(0)] public uint Magic;
    [FieldOffset(4)] public uint LayoutVersion;
    [FieldOffset(8)] public int HeaderSize;
    [FieldOffset(12)] public int GroupRecordSize;
    [FieldOffset(16)] public int ChannelRecordSize;
    [FieldOffset(20)] public int EventRecordSize;
    [FieldOffset(24)] public int MaxGroups;
    [FieldOffset(28)] public int MaxChannels;
    [FieldOffset(32)] public int EventCapacity;
    [FieldOffset(40)] public long TotalSize;

    /// <summary>Engine process id; with <see cref="OwnerStartTicks"/> it identifies the process even after pid reuse.</summary>
    [FieldOffset(48)] public int OwnerPid;

    /// <summary>An <see cref="EngineState"/>.</summary>
    [FieldOffset(52)] public int State;

    /// <summary>Process start time of the owner (Linux: /proc/pid/stat field 22, clock ticks since boot).</summary>
    [FieldOffset(56)] public long OwnerStartTicks;

    [FieldOffset(64)] public long StartTimeUnixMs;
    [FieldOffset(72)] public int ListenPort;

    /// <summary>An <see cref="EngineFlags"/> set.</summary>
    [FieldOffset(76)] public int Flags;
    [FieldOffset(80)] public int ConnectTimeoutMs;
    [FieldOffset(84)] public int IdleTimeoutMs;
    [FieldOffset(88)] public int GracePeriodMs;

    /// <summary>Set to 1 by a control client to ask the engine for a graceful stop.</summary>
    [FieldOffset(92)] public int KillRequested;

    /// <summary>Number of events ever published; the next event gets this sequence number.</summary>
    [FieldOffset(96)] public long EventHead;

    /// <summary>Connections accepted and closed because no channel was usable.</summary>
    [FieldOffset(104)] public long Rejected;

    /// <summary>Connections accepted by the listener (all outcomes).</summary>
    [FieldOffset(112)] public long Accepted;

    /// <summary>Bumped on every structural change (create, assign, group type) so readers can tell a snapshot went stale.</summary>
    [FieldOffset(120)] public int StructureVersion;

    [FieldOffset(128)] public fixed byte ListenAddress[TextCapacity];
    [FieldOffset(192)] public fixed byte ProductVersion[TextCapacity];
}

[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.GroupRecordSize)]
public struct GroupRecord
{
    /// <summary>A <see cref="Configuration.GroupType"/>.</summary>
    [FieldOffset(0)] public int Type;

    /// <summary>Channels in use, 0..MaxChannels; only grows (create), so an index below it stays valid.</summary>
    [FieldOffset(4)] public int ChannelCount;

    /// <summary>Next round-robin candidate; written only by the engine.</summary>
    [FieldOffset(8)] public int RoundRobinPosition;
}

[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.ChannelRecordSize)]
public unsafe struct ChannelRecord
{
    public const int DestinationCapacity = 96;

    [FieldOffset(0)] public int Enabled;
    [FieldOffset(4)] public int Port;

    /// <summary>0 = unlimited.</summary>
    [FieldOffset(8)] public int MaxConnections;

    /// <summary>Live sessions plus connects in progress ("c"); reserved by compare-and-swap so maxc is exact.</summary>
    [FieldOffset(12)] public int Connections;

    /// <summary>Sessions that reached this channel's back-end (connect succeeded).</summary>
    [FieldOffset(16)] public long TotalConnections;

    /// <summary>Connect attempts that failed (refused, unreachable, timed out).</summary>
    [FieldOffset(24)] public long Failures;

    /// <summary>Bytes client to back-end.</summary>
    [FieldOffset(32)] public long BytesSent;

    /// <summary>Bytes back-end to client.</summary>
    [FieldOffset(40)] public long BytesReceived;

    /// <summary>Seqlock over the address fields: odd while a writer changes them, bumped by 2 per change.</summary>
    [FieldOffset(48)] public int AddressVersion;

    /// <summary>4 or 6.</summary>
    [FieldOffset(52)] public int AddressFamily;
    [FieldOffset(56)] public fixed byte Address[16];
    [FieldOffset(72)] public uint ScopeId;
    [FieldOffset(76)] public int DestinationLength;

    /// <summary>The host as the user gave it (UTF-8), shown by <c>show</c> and the cmdlets.</summary>
    [FieldOffset(80)] public fixed byte Destination[DestinationCapacity];

    /// <summary>When the enabled flag last changed, Unix ms; 0 = never since start.</summary>
    [FieldOffset(176)] public long EnabledChangedUnixMs;
}

/// <summary>Kinds of engine events kept in the segment's ring.</summary>
public enum EngineEventKind
{
    Started = 1,
    Stopping = 2,
    Stopped = 3,
    ConnectFailed = 4,
    Failover = 5,
    AutoDisabled = 6,
    NoChannel = 7,
    AcceptError = 8,
    Error = 9,
    IdleTimeout = 10,
}

[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.EventRecordSize)]
public unsafe struct EventRecord
{
    public const int TextCapacity = 96;

    /// <summary>Sequence number + 1 once published; 0 while empty or being rewritten.</summary>
    [FieldOffset(0)] public long Published;
    [FieldOffset(8)] public long TimeUnixMs;
    [FieldOffset(16)] public int Kind;
    [FieldOffset(20)] public int Group;
    [FieldOffset(24)] public int Channel;
    [FieldOffset(28)] public int TextLength;
    [FieldOffset(32)] public fixed byte Text[TextCapacity];
}
