using System.Runtime.InteropServices;

namespace Balance.Control;

/// <summary>
/// The byte layout of a control segment (version 2). All records are fixed-size, naturally aligned
/// and multiples of 64 bytes, so that 32- and 64-bit fields can be updated with
/// <see cref="System.Threading.Interlocked"/> by any process that maps the segment and a field one
/// party writes often never shares a cache line with fields others read on every pick.
/// <code>
/// [ SegmentHeader 512 ][ GroupRecord 128 x MaxGroups ][ ChannelRecord 256 x MaxGroups x MaxChannels ]
/// [ InstanceStripe 64 x Stripes ][ ChannelStripe 64 x Stripes x MaxGroups x MaxChannels ][ EventRecord 128 x EventCapacity ]
/// </code>
/// Changing any record's size or meaning requires a new <see cref="LayoutVersion"/>. Every version
/// keeps <see cref="SegmentHeader.Magic"/>, <see cref="SegmentHeader.LayoutVersion"/>, the owner pid,
/// the listen address and the product version at the offsets version 1 gave them, so a reader of one
/// version can name the other in its error.
/// </summary>
internal static class SegmentLayout
{
    /// <summary>"BALS" in little-endian byte order.</summary>
    public const uint Magic = 0x534C4142;

    /// <summary>The layout this code reads and writes.</summary>
    public const uint LayoutVersion = 2;

    /// <summary>Size of <see cref="SegmentHeader"/>.</summary>
    public const int HeaderSize = 512;

    /// <summary>Size of <see cref="GroupRecord"/>.</summary>
    public const int GroupRecordSize = 128;

    /// <summary>Size of <see cref="ChannelRecord"/>.</summary>
    public const int ChannelRecordSize = 256;

    /// <summary>Size of <see cref="ChannelStripe"/> and of <see cref="InstanceStripe"/>: one cache line.</summary>
    public const int StripeSize = 64;

    /// <summary>Size of <see cref="EventRecord"/>.</summary>
    public const int EventRecordSize = 128;

    /// <summary>Events kept when the creator does not say.</summary>
    public const int DefaultEventCapacity = 256;

    /// <summary>Largest event ring a reader accepts.</summary>
    public const int MaxEventCapacity = 65536;

    /// <summary>Most counter stripes (workers) a segment may have.</summary>
    public const int MaxStripes = 1024;

    /// <summary>Offset of group 0.</summary>
    public static long GroupsOffset => HeaderSize;

    /// <summary>Offset of channel 0 of group 0.</summary>
    public static long ChannelsOffset(int maxGroups) => GroupsOffset + ((long)maxGroups * GroupRecordSize);

    /// <summary>Offset of the instance stripe of worker 0.</summary>
    public static long InstanceStripesOffset(int maxGroups, int maxChannels) =>
        ChannelsOffset(maxGroups) + ((long)maxGroups * maxChannels * ChannelRecordSize);

    /// <summary>Offset of worker 0's stripe of channel 0 of group 0; a worker's channel stripes follow each other.</summary>
    public static long ChannelStripesOffset(int maxGroups, int maxChannels, int stripes) =>
        InstanceStripesOffset(maxGroups, maxChannels) + ((long)stripes * StripeSize);

    /// <summary>Offset of event slot 0.</summary>
    public static long EventsOffset(int maxGroups, int maxChannels, int stripes) =>
        ChannelStripesOffset(maxGroups, maxChannels, stripes) + ((long)stripes * maxGroups * maxChannels * StripeSize);

    /// <summary>Bytes a segment with these limits takes.</summary>
    public static long TotalSize(int maxGroups, int maxChannels, int eventCapacity, int stripes) =>
        EventsOffset(maxGroups, maxChannels, stripes) + ((long)eventCapacity * EventRecordSize);
}

/// <summary>Lifecycle of the engine that owns a segment.</summary>
public enum EngineState
{
    /// <summary>The segment is being filled; not serving yet.</summary>
    Initializing = 0,

    /// <summary>Accepting and relaying.</summary>
    Running = 1,

    /// <summary>No longer accepting; live sessions get the grace period.</summary>
    Stopping = 2,

    /// <summary>Gone; the file is about to be deleted.</summary>
    Stopped = 3,
}

/// <summary>Start options of the engine, as the header's flags.</summary>
[Flags]
public enum EngineFlags
{
    /// <summary>No option.</summary>
    None = 0,

    /// <summary><c>-a</c>: a failed connect sets the channel's admin state to disabled.</summary>
    AutoDisable = 1,

    /// <summary><c>-H</c>: a hash group tries its other channels when the hashed one is not usable.</summary>
    HashFailover = 2,

    /// <summary><c>-6</c>.</summary>
    IPv6 = 4,

    /// <summary><c>-p</c>.</summary>
    PacketDump = 8,

    /// <summary><c>-d</c>.</summary>
    Debug = 16,
}

/// <summary>What people and scripts want of a channel; apart from its <see cref="ChannelHealth"/>.</summary>
public enum ChannelAdminState
{
    /// <summary>Gets no new sessions (the original's "dis"; where <c>create</c> leaves a channel).</summary>
    Disabled = 0,

    /// <summary>May get new sessions (the original's "ENA").</summary>
    Enabled = 1,

    /// <summary>Keeps its live sessions but gets no new ones, on the way to disabled.</summary>
    Draining = 2,
}

/// <summary>What the engine knows of a channel's back-end; written by the engine only.</summary>
public enum ChannelHealth
{
    /// <summary>Not checked, or not yet decided (checks off, or fewer results than rise/fall): served.</summary>
    Unknown = 0,

    /// <summary>Checked and answering: served.</summary>
    Up = 1,

    /// <summary>Failed its checks (or clients' connects): not served, whatever its admin state.</summary>
    Down = 2,
}

/// <summary>The segment's first 512 bytes: identity, limits, owner, start options, shared control words.</summary>
[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.HeaderSize)]
public unsafe struct SegmentHeader
{
    /// <summary>Bytes of <see cref="ListenAddress"/> and <see cref="ProductVersion"/>.</summary>
    public const int TextCapacity = 64;

    /// <summary><see cref="SegmentLayout.Magic"/>, written last at creation.</summary>
    [FieldOffset(0)] public uint Magic;

    /// <summary>The <see cref="SegmentLayout.LayoutVersion"/> the creator wrote (same offset in every version).</summary>
    [FieldOffset(4)] public uint LayoutVersion;

    /// <summary><see cref="SegmentLayout.HeaderSize"/>.</summary>
    [FieldOffset(8)] public int HeaderSize;

    /// <summary><see cref="SegmentLayout.GroupRecordSize"/>.</summary>
    [FieldOffset(12)] public int GroupRecordSize;

    /// <summary><see cref="SegmentLayout.ChannelRecordSize"/>.</summary>
    [FieldOffset(16)] public int ChannelRecordSize;

    /// <summary><see cref="SegmentLayout.EventRecordSize"/>.</summary>
    [FieldOffset(20)] public int EventRecordSize;

    /// <summary>Group records in the segment.</summary>
    [FieldOffset(24)] public int MaxGroups;

    /// <summary>Channel records per group.</summary>
    [FieldOffset(28)] public int MaxChannels;

    /// <summary>Event slots.</summary>
    [FieldOffset(32)] public int EventCapacity;

    /// <summary>Counter stripes: one per worker of the engine.</summary>
    [FieldOffset(36)] public int StripeCount;

    /// <summary>Bytes the limits above imply.</summary>
    [FieldOffset(40)] public long TotalSize;

    /// <summary>Engine process id; with <see cref="OwnerStartTicks"/> it identifies the process even after pid reuse.</summary>
    [FieldOffset(48)] public int OwnerPid;

    /// <summary>An <see cref="EngineState"/>.</summary>
    [FieldOffset(52)] public int State;

    /// <summary>Process start time of the owner (Linux: /proc/pid/stat field 22, clock ticks since boot).</summary>
    [FieldOffset(56)] public long OwnerStartTicks;

    /// <summary>When the engine started, Unix ms.</summary>
    [FieldOffset(64)] public long StartTimeUnixMs;

    /// <summary>The listen port.</summary>
    [FieldOffset(72)] public int ListenPort;

    /// <summary>An <see cref="EngineFlags"/> set.</summary>
    [FieldOffset(76)] public int Flags;

    /// <summary>Connect timeout, ms.</summary>
    [FieldOffset(80)] public int ConnectTimeoutMs;

    /// <summary>Idle timeout, ms; 0 = never.</summary>
    [FieldOffset(84)] public int IdleTimeoutMs;

    /// <summary>Grace period of a stop, ms.</summary>
    [FieldOffset(88)] public int GracePeriodMs;

    /// <summary>
    /// A stop request: a control client sets 1; the engine takes it by changing 1 to 2 (then it
    /// stops); a client that gave up waiting withdraws it by changing 1 back to 0. Both are
    /// compare-exchanges, so exactly one of them wins (<see cref="KillRequest"/>).
    /// </summary>
    [FieldOffset(92)] public int KillRequested;

    /// <summary>Number of events ever published; the next event gets this sequence number.</summary>
    [FieldOffset(96)] public long EventHead;

    /// <summary><see cref="SegmentLayout.StripeSize"/>.</summary>
    [FieldOffset(104)] public int StripeSize;

    /// <summary>Bit n set: the engine knows policy id n (see <c>Balance.Policies.PolicyCatalog</c>), so clients refuse ids it would not.</summary>
    [FieldOffset(108)] public int PolicyMask;

    /// <summary>The listen address, normalised (UTF-8, NUL padded; same offset in every version).</summary>
    [FieldOffset(128)] public fixed byte ListenAddress[TextCapacity];

    /// <summary>The creator's product version (UTF-8, NUL padded; same offset in every version).</summary>
    [FieldOffset(192)] public fixed byte ProductVersion[TextCapacity];

    /// <summary>
    /// Bumped after every change the engine keeps private structures for (create, assign, policy,
    /// weight): the engine compares it on each pick and rebuilds what it cached. On a line of its
    /// own, which nothing writes per connection.
    /// </summary>
    [FieldOffset(256)] public int ChangeVersion;

    /// <summary>The last channel id handed out; ids start at 1 and are never reused within an instance.</summary>
    [FieldOffset(260)] public int LastChannelId;

    /// <summary>Active checks: ms between checks of a channel; 0 = active checks off (the default).</summary>
    [FieldOffset(264)] public int CheckIntervalMs;

    /// <summary>Active checks: ms a check may take.</summary>
    [FieldOffset(268)] public int CheckTimeoutMs;

    /// <summary>Active checks: consecutive passed checks that bring a channel up.</summary>
    [FieldOffset(272)] public int Rise;

    /// <summary>Active checks: consecutive failed checks that take a channel down.</summary>
    [FieldOffset(276)] public int Fall;

    /// <summary>Passive checks: consecutive failed client connects that take a channel down; 0 = off.</summary>
    [FieldOffset(280)] public int MaxFails;

    /// <summary>Passive checks: ms a channel stays down before clients try it again.</summary>
    [FieldOffset(284)] public int FailTimeoutMs;

    /// <summary>Bumped after a client asked (<see cref="ChannelRecord.CloseRequest"/>) that a channel's sessions be closed; workers compare it each tick.</summary>
    [FieldOffset(288)] public int CloseRequests;

    /// <summary>A <see cref="CheckFlags"/> set: what the active check does beyond the connect.</summary>
    [FieldOffset(292)] public int CheckFlags;

    // 296..511: spare, zero.
}

/// <summary>One group: its policy and the shared round-robin position, on separate cache lines.</summary>
[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.GroupRecordSize)]
public unsafe struct GroupRecord
{
    /// <summary>Bytes of <see cref="PolicySettings"/>.</summary>
    public const int SettingsCapacity = 48;

    /// <summary>The policy id (open: see <c>Balance.Policies.PolicyCatalog</c>); 0 round robin, 1 the original's hash.</summary>
    [FieldOffset(0)] public int Policy;

    /// <summary>Channels in use, 0..MaxChannels; only grows (create), so an index below it stays valid.</summary>
    [FieldOffset(4)] public int ChannelCount;

    /// <summary>Room for the policy's own settings; zero for round robin and hash.</summary>
    [FieldOffset(16)] public fixed byte PolicySettings[SettingsCapacity];

    /// <summary>Next round-robin candidate, shared by every worker so round robin stays even across them.</summary>
    [FieldOffset(64)] public int RoundRobinPosition;

    /// <summary>Next step of a weighted round-robin group's schedule, shared by every worker like the position.</summary>
    [FieldOffset(68)] public int PolicySequence;

    // 72..127: spare, zero.
}

/// <summary>
/// One channel: identity, states, limits and address on the first line (read on every pick, rarely
/// written), the host text, and the live count alone on the last line (every worker reserves on it).
/// Its counters live in the stripes (<see cref="ChannelStripe"/>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.ChannelRecordSize)]
public unsafe struct ChannelRecord
{
    /// <summary>Bytes of <see cref="Destination"/>.</summary>
    public const int DestinationCapacity = 96;

    /// <summary>Stable id, unique within the instance and independent of the position; 0 = never created.</summary>
    [FieldOffset(0)] public int Id;

    /// <summary>A <see cref="ChannelAdminState"/>.</summary>
    [FieldOffset(4)] public int AdminState;

    /// <summary>A <see cref="ChannelHealth"/>; written by the engine.</summary>
    [FieldOffset(8)] public int Health;

    /// <summary>Relative share for weighted policies; 0 = no new sessions. 1 unless set.</summary>
    [FieldOffset(12)] public int Weight;

    /// <summary>0 = unlimited.</summary>
    [FieldOffset(16)] public int MaxConnections;

    /// <summary>The back-end's port (under the seqlock).</summary>
    [FieldOffset(20)] public int Port;

    /// <summary>Seqlock over the address fields: odd while a writer changes them, bumped by 2 per change.</summary>
    [FieldOffset(24)] public int AddressVersion;

    /// <summary>4 or 6.</summary>
    [FieldOffset(28)] public int AddressFamily;

    /// <summary>The resolved address: 4 or 16 bytes.</summary>
    [FieldOffset(32)] public fixed byte Address[16];

    /// <summary>IPv6 scope id.</summary>
    [FieldOffset(48)] public uint ScopeId;

    /// <summary>Bytes used in <see cref="Destination"/>.</summary>
    [FieldOffset(52)] public int DestinationLength;

    /// <summary>When the admin state last changed, Unix ms; 0 = never since start.</summary>
    [FieldOffset(56)] public long AdminChangedUnixMs;

    /// <summary>The host as the user gave it (UTF-8), shown by <c>show</c> and the cmdlets.</summary>
    [FieldOffset(64)] public fixed byte Destination[DestinationCapacity];

    /// <summary>When the health state last changed, Unix ms; 0 = never.</summary>
    [FieldOffset(160)] public long HealthChangedUnixMs;

    /// <summary>When the last active check ended, Unix ms; 0 = never checked.</summary>
    [FieldOffset(168)] public long LastCheckUnixMs;

    /// <summary>A <see cref="CheckResult"/>: how the last active check ended.</summary>
    [FieldOffset(176)] public int LastCheckResult;

    /// <summary>How long the last active check took, ms.</summary>
    [FieldOffset(180)] public int LastCheckMs;

    /// <summary>A <see cref="HealthSource"/>: what set the health last.</summary>
    [FieldOffset(184)] public int HealthSource;

    /// <summary>Consecutive active check results in the same direction: positive passed, negative failed.</summary>
    [FieldOffset(188)] public int CheckStreak;

    /// <summary>Live sessions plus connects in progress ("c"); reserved by compare-and-swap so maxc is exact across workers.</summary>
    [FieldOffset(192)] public int Connections;

    /// <summary>Passive checks: consecutive failed connects by clients (reset by a successful one).</summary>
    [FieldOffset(196)] public int PassiveFailures;

    /// <summary>Passive checks: when a channel they took down is tried again, Unix ms; 0 = not down by them.</summary>
    [FieldOffset(200)] public long RetryAtUnixMs;

    /// <summary>This channel's check interval, ms; 0 = the instance's.</summary>
    [FieldOffset(208)] public int CheckIntervalMs;

    /// <summary>This channel's rise; 0 = the instance's.</summary>
    [FieldOffset(212)] public int Rise;

    /// <summary>This channel's fall; 0 = the instance's.</summary>
    [FieldOffset(216)] public int Fall;

    /// <summary>The port the active check connects to; 0 = the channel's port.</summary>
    [FieldOffset(220)] public int CheckPort;

    /// <summary>Bumped by a client that wants the channel's live sessions closed (a forced drain); see <see cref="SegmentHeader.CloseRequests"/>.</summary>
    [FieldOffset(224)] public int CloseRequest;

    // 228..255: spare, zero. The fields after Connections are written rarely (a failed connect, a check, a command).
}

/// <summary>One worker's counters of one channel, on a cache line no other worker writes.</summary>
[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.StripeSize)]
internal struct ChannelStripe
{
    /// <summary>Sessions that reached this channel's back-end (connect succeeded).</summary>
    [FieldOffset(0)] public long TotalConnections;

    /// <summary>Connect attempts that failed (refused, unreachable, timed out).</summary>
    [FieldOffset(8)] public long Failures;

    /// <summary>Bytes client to back-end.</summary>
    [FieldOffset(16)] public long BytesSent;

    /// <summary>Bytes back-end to client.</summary>
    [FieldOffset(24)] public long BytesReceived;

    // 32..63: spare, zero.
}

/// <summary>One worker's instance-wide counters, on a cache line no other worker writes.</summary>
[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.StripeSize)]
internal struct InstanceStripe
{
    /// <summary>Connections accepted by the listener (all outcomes).</summary>
    [FieldOffset(0)] public long Accepted;

    /// <summary>Connections accepted and closed because no channel was usable.</summary>
    [FieldOffset(8)] public long Rejected;

    // 16..63: spare, zero.
}

/// <summary>Kinds of engine events kept in the segment's ring.</summary>
public enum EngineEventKind
{
    /// <summary>The engine listens.</summary>
    Started = 1,

    /// <summary>A stop began.</summary>
    Stopping = 2,

    /// <summary>The engine stopped.</summary>
    Stopped = 3,

    /// <summary>A connect attempt failed.</summary>
    ConnectFailed = 4,

    /// <summary>A session moved on to another channel.</summary>
    Failover = 5,

    /// <summary><c>-a</c> disabled a channel.</summary>
    AutoDisabled = 6,

    /// <summary>A client found no usable channel.</summary>
    NoChannel = 7,

    /// <summary>Accepting failed.</summary>
    AcceptError = 8,

    /// <summary>Any other error.</summary>
    Error = 9,

    /// <summary>A session idled out.</summary>
    IdleTimeout = 10,

    /// <summary>A channel's health became up (active checks passed <c>rise</c> times).</summary>
    HealthUp = 11,

    /// <summary>A channel's health became down (active checks failed <c>fall</c> times, or clients' connects <c>max-fails</c> times).</summary>
    HealthDown = 12,

    /// <summary>A channel's health became unknown again (its retry period is over, or its address changed).</summary>
    HealthUnknown = 13,

    /// <summary>A channel's live sessions were closed on request (a forced drain).</summary>
    SessionsClosed = 14,
}

/// <summary>How an active check ended.</summary>
public enum CheckResult
{
    /// <summary>Not checked yet.</summary>
    None = 0,

    /// <summary>Connected (and, with an expect string, the reply contained it).</summary>
    Passed = 1,

    /// <summary>The back-end refused the connection.</summary>
    Refused = 2,

    /// <summary>No answer within the check timeout.</summary>
    TimedOut = 3,

    /// <summary>Connected, but the reply did not contain the expected text before the back-end closed or the timeout.</summary>
    UnexpectedReply = 4,

    /// <summary>Another network error (unreachable, reset).</summary>
    Error = 5,
}

/// <summary>What last set a channel's health.</summary>
public enum HealthSource
{
    /// <summary>Nothing yet.</summary>
    None = 0,

    /// <summary>Active checks.</summary>
    Check = 1,

    /// <summary>Passive checks: failed connects by clients.</summary>
    Clients = 2,
}

/// <summary>What an active check does beyond the connect.</summary>
[Flags]
public enum CheckFlags
{
    /// <summary>Connect only.</summary>
    None = 0,

    /// <summary>Sends a string once connected.</summary>
    Send = 1,

    /// <summary>Expects a reply containing a string.</summary>
    Expect = 2,
}

/// <summary>One slot of the event ring.</summary>
[StructLayout(LayoutKind.Explicit, Size = SegmentLayout.EventRecordSize)]
public unsafe struct EventRecord
{
    /// <summary>Bytes of <see cref="Text"/>.</summary>
    public const int TextCapacity = 96;

    /// <summary>Sequence number + 1 once published; 0 while empty or being rewritten.</summary>
    [FieldOffset(0)] public long Published;

    /// <summary>When, Unix ms.</summary>
    [FieldOffset(8)] public long TimeUnixMs;

    /// <summary>An <see cref="EngineEventKind"/>.</summary>
    [FieldOffset(16)] public int Kind;

    /// <summary>Group concerned, or -1.</summary>
    [FieldOffset(20)] public int Group;

    /// <summary>Channel concerned, or -1.</summary>
    [FieldOffset(24)] public int Channel;

    /// <summary>Bytes used in <see cref="Text"/>.</summary>
    [FieldOffset(28)] public int TextLength;

    /// <summary>The message (UTF-8).</summary>
    [FieldOffset(32)] public fixed byte Text[TextCapacity];
}

/// <summary>The values of <see cref="SegmentHeader.KillRequested"/>.</summary>
internal static class KillRequest
{
    /// <summary>No request, or one withdrawn.</summary>
    public const int None = 0;

    /// <summary>Asked by a control client, not yet seen by the engine.</summary>
    public const int Asked = 1;

    /// <summary>Taken by the engine: it is stopping, and nothing can withdraw it now.</summary>
    public const int Taken = 2;
}
