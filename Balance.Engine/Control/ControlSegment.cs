using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Text;
using Balance.Configuration;
using Balance.Policies;

namespace Balance.Control;

/// <summary>
/// One mapped control segment (see <see cref="SegmentLayout"/>). The engine creates it; control
/// clients in any process open it. Every size and index is validated before it is used to compute
/// an address, so a truncated, foreign or hostile file yields a <see cref="ControlException"/>,
/// never an out-of-bounds access.
/// </summary>
public sealed unsafe class ControlSegment : IDisposable
{
    private readonly MemoryMappedFile map;
    private readonly MemoryMappedViewAccessor view;
    private readonly byte* basePointer;
    private readonly long groupsOffset;
    private readonly long channelsOffset;
    private readonly long instanceStripesOffset;
    private readonly long channelStripesOffset;
    private readonly long eventsOffset;
    private FileStream? locator;
    private byte[]? locatorRecord;
    private int memoryDescriptor = -1;
    private int locatorReleased;
    private FileStream? retiredLocator;
    private int disposed;

    private ControlSegment(SegmentName name, MemoryMappedFile map, MemoryMappedViewAccessor view, SegmentLimits limits)
    {
        Name = name;
        this.map = map;
        this.view = view;
        MaxGroups = limits.MaxGroups;
        MaxChannels = limits.MaxChannels;
        EventCapacity = limits.EventCapacity;
        StripeCount = limits.Stripes;
        groupsOffset = SegmentLayout.GroupsOffset;
        channelsOffset = SegmentLayout.ChannelsOffset(MaxGroups);
        instanceStripesOffset = SegmentLayout.InstanceStripesOffset(MaxGroups, MaxChannels);
        channelStripesOffset = SegmentLayout.ChannelStripesOffset(MaxGroups, MaxChannels, StripeCount);
        eventsOffset = SegmentLayout.EventsOffset(MaxGroups, MaxChannels, StripeCount);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        basePointer = p + view.PointerOffset;
    }

    /// <summary>The instance the segment belongs to.</summary>
    public SegmentName Name { get; }

    /// <summary>Group records in the segment, fixed when it was created.</summary>
    public int MaxGroups { get; }

    /// <summary>Channel records per group, fixed when it was created.</summary>
    public int MaxChannels { get; }

    /// <summary>Slots in the event ring; 0 when the segment has none.</summary>
    public int EventCapacity { get; }

    /// <summary>Counter stripes: one per worker of the engine that created the segment.</summary>
    public int StripeCount { get; }

    /// <summary>The header: layout version, settings, engine state and instance-wide fields.</summary>
    public ref SegmentHeader Header => ref *(SegmentHeader*)basePointer;

    /// <summary>The engine's state as it last published it.</summary>
    public EngineState State => (EngineState)Volatile.Read(ref Header.State);

    /// <summary>
    /// Creates a fresh segment for an engine that already holds the owner lock: whatever file was
    /// there belonged to a dead engine and is replaced, so no ghost channel or counter survives.
    /// <paramref name="stripes"/> is the number of workers that count (each gets its own stripes).
    /// With <paramref name="sealedMemory"/> (the engine's choice; Linux only) the segment lives in
    /// memory whose size nobody can change, and the name holds a <see cref="SegmentLocator"/>
    /// record: truncating the name can then never crash the engine.
    /// </summary>
    public static ControlSegment Create(SegmentName name, BalanceConfiguration configuration, int eventCapacity = SegmentLayout.DefaultEventCapacity, int stripes = 1, bool sealedMemory = false) =>
        Create(name, configuration, eventCapacity, stripes, sealedMemory, replacing: false);

    /// <summary>
    /// Creates the sealed segment of an engine taking over a running one: the name keeps pointing
    /// at the running engine's segment until <see cref="PublishReplacing"/>. Linux only.
    /// </summary>
    internal static ControlSegment CreateUnpublished(SegmentName name, BalanceConfiguration configuration, int stripes)
    {
        if (!SegmentLocator.IsAvailable)
        {
            throw new PlatformNotSupportedException("a takeover needs sealed memory (Linux)");
        }

        return Create(name, configuration, SegmentLayout.DefaultEventCapacity, stripes, sealedMemory: true, replacing: true);
    }

    /// <summary>
    /// Points the name at this segment in one rename (<see cref="CreateUnpublished"/>): control
    /// clients see the old engine's segment or this one, never none.
    /// </summary>
    internal void PublishReplacing()
    {
        if (memoryDescriptor < 0 || locator is not null)
        {
            throw new InvalidOperationException("only an unpublished sealed segment can replace a name");
        }

        locator = SegmentLocator.PublishReplacing(Name.Path, memoryDescriptor, out locatorRecord);
    }

    /// <summary>
    /// Stops the tick's repair of the name (the engine handed the name on to another one), or
    /// takes the name back by a rename when <paramref name="reclaim"/> and it no longer holds this
    /// engine's record (a takeover that failed after it replaced the name).
    /// </summary>
    internal void ReleaseLocator(bool reclaim)
    {
        if (locator is null || locatorRecord is null)
        {
            return;
        }

        if (!reclaim)
        {
            Volatile.Write(ref locatorReleased, 1);
            return;
        }

        if (!SegmentLocator.Holds(Name.Path, locatorRecord))
        {
            // The tick may be repairing through the old stream right now: it is closed with the segment.
            retiredLocator = locator;
            locator = SegmentLocator.PublishReplacing(Name.Path, memoryDescriptor, out locatorRecord);
        }

        Volatile.Write(ref locatorReleased, 0);
    }

    private static ControlSegment Create(SegmentName name, BalanceConfiguration configuration, int eventCapacity, int stripes, bool sealedMemory, bool replacing)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentOutOfRangeException.ThrowIfLessThan(stripes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stripes, SegmentLayout.MaxStripes);
        var limits = new SegmentLimits(configuration.MaxGroups, configuration.MaxChannelsPerGroup, eventCapacity, stripes);
        var size = SegmentLayout.TotalSize(limits.MaxGroups, limits.MaxChannels, eventCapacity, stripes);
        if (!replacing)
        {
            RemoveLeftover(name.Path);
        }

        var inMemory = sealedMemory && SegmentLocator.IsAvailable;
        FileStream stream;
        if (inMemory)
        {
            stream = SegmentLocator.CreateMemory(name, size);
        }
        else
        {
            // CreateNew never reuses or follows whatever appeared under the name since the delete.
            stream = OwnedFile.Open(name.Path, OwnedFileMode.CreateNew, lockExclusive: false)!;
            stream.SetLength(size);
        }

        var descriptor = (int)stream.SafeFileHandle.DangerousGetHandle();
        var segment = Map(name, stream, limits);
        ref var h = ref segment.Header;
        h.HeaderSize = SegmentLayout.HeaderSize;
        h.GroupRecordSize = SegmentLayout.GroupRecordSize;
        h.ChannelRecordSize = SegmentLayout.ChannelRecordSize;
        h.EventRecordSize = SegmentLayout.EventRecordSize;
        h.StripeSize = SegmentLayout.StripeSize;
        h.MaxGroups = limits.MaxGroups;
        h.MaxChannels = limits.MaxChannels;
        h.EventCapacity = eventCapacity;
        h.StripeCount = stripes;
        h.TotalSize = size;
        h.PolicyMask = PolicyCatalog.Mask;
        h.ListenPort = name.Port;
        h.State = (int)EngineState.Initializing;
        var identity = ProcessIdentity.Current;
        h.OwnerPid = identity.Pid;
        h.OwnerStartTicks = identity.StartTicks;
        h.StartTimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        h.ConnectTimeoutMs = (int)configuration.ConnectTimeout.TotalMilliseconds;
        h.IdleTimeoutMs = (int)configuration.IdleTimeout.TotalMilliseconds;
        h.GracePeriodMs = (int)configuration.GracePeriod.TotalMilliseconds;
        h.Flags = (int)((configuration.AutoDisable ? EngineFlags.AutoDisable : 0)
            | (configuration.HashFailover ? EngineFlags.HashFailover : 0)
            | (configuration.IPv6 ? EngineFlags.IPv6 : 0)
            | (configuration.PacketDump ? EngineFlags.PacketDump : 0)
            | (configuration.Debug ? EngineFlags.Debug : 0));
        WriteChecks(ref h, configuration.Checks);
        fixed (byte* a = h.ListenAddress)
        {
            WriteText(new Span<byte>(a, SegmentHeader.TextCapacity), name.NormalizedAddress, out _);
        }

        fixed (byte* v = h.ProductVersion)
        {
            WriteText(new Span<byte>(v, SegmentHeader.TextCapacity), ProductInfo.Version, out _);
        }

        h.LayoutVersion = SegmentLayout.LayoutVersion;

        // The magic goes last: a reader that sees it also sees a complete header.
        Volatile.Write(ref h.Magic, SegmentLayout.Magic);
        segment.memoryDescriptor = inMemory ? descriptor : -1;
        if (inMemory && !replacing)
        {
            // Published after the header, so a reader that follows the record finds it complete.
            try
            {
                segment.locator = SegmentLocator.Publish(name.Path, descriptor, out segment.locatorRecord);
            }
            catch
            {
                segment.Dispose();
                throw;
            }
        }

        return segment;
    }

    /// <summary>
    /// Removes the segment a dead engine left. A file this user may not remove belongs to someone
    /// else (in a sticky directory only its owner or root may delete it): refused, with the cure.
    /// </summary>
    private static void RemoveLeftover(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (UnauthorizedAccessException e)
        {
            var owner = OwnedFile.OwnerOf(path) is { } uid ? string.Create(CultureInfo.InvariantCulture, $"it belongs to user id {uid}") : "another user created it?";
            throw new ForeignFileException($"{path} is in the way and this user may not remove it ({owner}); {OwnedFile.Cure(path)}", e);
        }
    }

    private static void WriteChecks(ref SegmentHeader h, HealthCheckOptions checks)
    {
        h.CheckIntervalMs = (int)checks.Interval.TotalMilliseconds;
        h.CheckTimeoutMs = (int)checks.EffectiveTimeout.TotalMilliseconds;
        h.Rise = checks.Rise;
        h.Fall = checks.Fall;
        h.MaxFails = checks.MaxFails;
        h.FailTimeoutMs = (int)checks.FailTimeout.TotalMilliseconds;
        h.CheckFlags = (int)((checks.Send is null ? CheckFlags.None : CheckFlags.Send) | (checks.Expect is null ? CheckFlags.None : CheckFlags.Expect));
    }

    /// <summary>Opens an existing segment for a control client, validating it completely first.</summary>
    public static ControlSegment Open(SegmentName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        FileStream stream;
        try
        {
            stream = OwnedFile.Open(name.Path, OwnedFileMode.Existing, lockExclusive: false)!;
        }
        catch (FileNotFoundException e)
        {
            throw NotRunning(name, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw NotRunning(name, e);
        }
        catch (ForeignFileException e)
        {
            throw new ControlException(ControlError.PermissionDenied, $"permission denied: the Balance instance on {Endpoint(name)} is not this user's: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ControlException(
                ControlError.PermissionDenied,
                $"permission denied: the Balance instance on {Endpoint(name)} belongs to another user ({name.Path} is readable by its owner only); run as that user",
                e);
        }

        try
        {
            if (SegmentLocator.Follow(name, stream) is { } memory)
            {
                stream.Dispose();
                stream = memory;
            }

            return Map(name, stream, ValidateHeader(name, stream));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The record of a group slot; throws <see cref="ControlException"/> for an index past <see cref="MaxGroups"/>.</summary>
    public ref GroupRecord Group(int group)
    {
        if ((uint)group >= (uint)MaxGroups)
        {
            throw new ControlException(ControlError.NoSuchGroup, $"no group {group}: groups are numbered 0 to {MaxGroups - 1}");
        }

        return ref *(GroupRecord*)(basePointer + groupsOffset + ((long)group * SegmentLayout.GroupRecordSize));
    }

    /// <summary>The record of a channel slot (used or not): states, limits, address, live count.</summary>
    public ref ChannelRecord Record(int group, int channel) =>
        ref *(ChannelRecord*)(basePointer + channelsOffset + (SlotOf(group, channel) * SegmentLayout.ChannelRecordSize));

    /// <summary>A channel as a whole: its record and its counters summed over every stripe.</summary>
    public ChannelView Channel(int group, int channel)
    {
        SlotOf(group, channel);
        return new ChannelView(this, group, channel);
    }

    /// <summary>Worker <paramref name="worker"/>'s counters of a channel: a cache line only that worker adds to.</summary>
    internal ref ChannelStripe Stripe(int worker, int group, int channel)
    {
        var slot = SlotOf(group, channel);
        if ((uint)worker >= (uint)StripeCount)
        {
            throw new ArgumentOutOfRangeException(nameof(worker), worker, $"this segment has stripes 0 to {StripeCount - 1}");
        }

        return ref *(ChannelStripe*)(basePointer + channelStripesOffset + ((((long)worker * MaxGroups * MaxChannels) + slot) * SegmentLayout.StripeSize));
    }

    /// <summary>Worker <paramref name="worker"/>'s instance-wide counters.</summary>
    internal ref InstanceStripe InstanceStripe(int worker)
    {
        if ((uint)worker >= (uint)StripeCount)
        {
            throw new ArgumentOutOfRangeException(nameof(worker), worker, $"this segment has stripes 0 to {StripeCount - 1}");
        }

        return ref *(InstanceStripe*)(basePointer + instanceStripesOffset + ((long)worker * SegmentLayout.StripeSize));
    }

    /// <summary>A channel's counters summed over every worker's stripe.</summary>
    internal ChannelStripe SumStripes(int group, int channel)
    {
        var sum = default(ChannelStripe);
        for (var w = 0; w < StripeCount; w++)
        {
            ref var s = ref Stripe(w, group, channel);
            sum.TotalConnections += Volatile.Read(ref s.TotalConnections);
            sum.Failures += Volatile.Read(ref s.Failures);
            sum.BytesSent += Volatile.Read(ref s.BytesSent);
            sum.BytesReceived += Volatile.Read(ref s.BytesReceived);
        }

        return sum;
    }

    /// <summary>Accepted and rejected connections summed over every worker's stripe.</summary>
    internal InstanceStripe SumInstanceStripes()
    {
        var sum = default(InstanceStripe);
        for (var w = 0; w < StripeCount; w++)
        {
            ref var s = ref InstanceStripe(w);
            sum.Accepted += Volatile.Read(ref s.Accepted);
            sum.Rejected += Volatile.Read(ref s.Rejected);
        }

        return sum;
    }

    /// <summary>Channels in use in a group, clamped to the limit so a corrupt count cannot lead past the records.</summary>
    public int ChannelCount(int group) => Math.Clamp(Volatile.Read(ref Group(group).ChannelCount), 0, MaxChannels);

    /// <summary>The policy id of a group, as stored (ids are open: see <see cref="PolicyCatalog"/>).</summary>
    public int PolicyOf(int group) => Volatile.Read(ref Group(group).Policy);

    /// <summary>The group's policy id as a <see cref="GroupType"/>: the original's two by name, any later id by its number.</summary>
    public GroupType GroupTypeOf(int group) => (GroupType)PolicyOf(group);

    /// <summary>The ring slot that event number <paramref name="sequence"/> is written to (the ring wraps).</summary>
    public ref EventRecord EventSlot(long sequence)
    {
        if (EventCapacity == 0)
        {
            throw new InvalidOperationException("this segment has no event ring");
        }

        var slot = (int)((ulong)sequence % (ulong)EventCapacity);
        return ref *(EventRecord*)(basePointer + eventsOffset + ((long)slot * SegmentLayout.EventRecordSize));
    }

    /// <summary>The channel's address as the user wrote it (<c>host:port</c>).</summary>
    public string ReadDestination(int group, int channel)
    {
        ref var c = ref Record(group, channel);
        fixed (byte* d = c.Destination)
        {
            var length = Math.Clamp(Volatile.Read(ref c.DestinationLength), 0, ChannelRecord.DestinationCapacity);
            return Encoding.UTF8.GetString(d, length);
        }
    }

    /// <summary>The listen address the engine reported in the header.</summary>
    public string ReadListenAddress()
    {
        fixed (byte* a = Header.ListenAddress)
        {
            return ReadText(new ReadOnlySpan<byte>(a, SegmentHeader.TextCapacity));
        }
    }

    /// <summary>The version of the Balance that created the segment.</summary>
    public string ReadProductVersion()
    {
        fixed (byte* a = Header.ProductVersion)
        {
            return ReadText(new ReadOnlySpan<byte>(a, SegmentHeader.TextCapacity));
        }
    }

    /// <summary>Writes UTF-8 text truncated to whole characters that fit, NUL padded.</summary>
    public static void WriteText(Span<byte> target, string text, out int length)
    {
        target.Clear();
        var encoder = Encoding.UTF8.GetEncoder();
        encoder.Convert(text.AsSpan(), target, flush: true, out _, out length, out _);
    }

    /// <summary>Reads UTF-8 text written by <see cref="WriteText"/>, up to the first NUL.</summary>
    public static string ReadText(ReadOnlySpan<byte> source)
    {
        var end = source.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? source : source[..end]);
    }

    /// <summary>
    /// The engine's tick: puts the locator record back when someone truncated or overwrote it
    /// (the sealed memory itself cannot change size). True when it had to.
    /// </summary>
    internal bool RepairLocator() =>
        locator is not null && locatorRecord is not null && Volatile.Read(ref disposed) == 0 && Volatile.Read(ref locatorReleased) == 0 && SegmentLocator.Repair(locator, locatorRecord);

    /// <summary>Unmaps the segment; safe to call more than once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        locator?.Dispose();
        retiredLocator?.Dispose();

        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map.Dispose();
    }

    private long SlotOf(int group, int channel)
    {
        if ((uint)group >= (uint)MaxGroups)
        {
            throw new ControlException(ControlError.NoSuchGroup, $"no group {group}: groups are numbered 0 to {MaxGroups - 1}");
        }

        if ((uint)channel >= (uint)MaxChannels)
        {
            throw new ControlException(ControlError.NoSuchChannel, $"no channel {channel}: a group holds channels 0 to {MaxChannels - 1}");
        }

        return ((long)group * MaxChannels) + channel;
    }

    private static ControlSegment Map(SegmentName name, FileStream stream, SegmentLimits limits)
    {
        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        try
        {
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite);
            return new ControlSegment(name, map, view, limits);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private static SegmentLimits ValidateHeader(SegmentName name, FileStream stream)
    {
        var length = stream.Length;
        if (length < SegmentLayout.HeaderSize)
        {
            throw Corrupt(name, $"it is {length} bytes long, shorter than a segment header ({SegmentLayout.HeaderSize} bytes)");
        }

        Span<byte> raw = stackalloc byte[SegmentLayout.HeaderSize];
        stream.Position = 0;
        stream.ReadExactly(raw);
        SegmentHeader h = System.Runtime.InteropServices.MemoryMarshal.Read<SegmentHeader>(raw);
        if (h.Magic != SegmentLayout.Magic)
        {
            // A zero signature is an engine still writing its header (the signature goes last): not running yet.
            throw h.Magic == 0
                ? NotRunning(name, null)
                : Corrupt(name, "it does not start with the Balance segment signature");
        }

        if (h.LayoutVersion != SegmentLayout.LayoutVersion)
        {
            throw LayoutMismatch(name, h.LayoutVersion, ReadText(raw.Slice(192, SegmentHeader.TextCapacity)));
        }

        if (h.HeaderSize != SegmentLayout.HeaderSize || h.GroupRecordSize != SegmentLayout.GroupRecordSize
            || h.ChannelRecordSize != SegmentLayout.ChannelRecordSize || h.EventRecordSize != SegmentLayout.EventRecordSize
            || h.StripeSize != SegmentLayout.StripeSize)
        {
            throw Corrupt(name, "its record sizes do not match its layout version");
        }

        if (h.MaxGroups is < 1 or > BalanceConfiguration.LimitMaxGroups
            || h.MaxChannels is < 1 or > BalanceConfiguration.LimitMaxChannelsPerGroup
            || h.EventCapacity is < 0 or > SegmentLayout.MaxEventCapacity
            || h.StripeCount is < 1 or > SegmentLayout.MaxStripes)
        {
            throw Corrupt(name, $"its limits are out of range (groups {h.MaxGroups}, channels {h.MaxChannels}, events {h.EventCapacity}, stripes {h.StripeCount})");
        }

        var expected = SegmentLayout.TotalSize(h.MaxGroups, h.MaxChannels, h.EventCapacity, h.StripeCount);
        if (h.TotalSize != expected || length < expected)
        {
            throw Corrupt(name, $"it is {length} bytes long but its header needs {expected}");
        }

        return new SegmentLimits(h.MaxGroups, h.MaxChannels, h.EventCapacity, h.StripeCount);
    }

    /// <summary>
    /// One line naming both layouts and the fix. Version 1 readers, for their part, refuse a
    /// version 2 segment with "layout mismatch: ... uses control segment layout 2, this Balance
    /// understands layout 1; use the Balance version that started it".
    /// </summary>
    private static ControlException LayoutMismatch(SegmentName name, uint theirs, string theirVersion)
    {
        var started = theirVersion.Length > 0 && theirVersion.All(c => !char.IsControl(c)) ? $" (started by Balance {theirVersion})" : string.Empty;
        var fix = theirs < SegmentLayout.LayoutVersion
            ? "control it with the older Balance that started it, or stop it with that version (balance -c kill) and start it again with this one"
            : "control it with the newer Balance that started it";
        return new ControlException(
            ControlError.IncompatibleLayout,
            $"layout mismatch: the instance on {Endpoint(name)}{started} uses control segment layout {theirs}, this Balance reads layout {SegmentLayout.LayoutVersion}; {fix}");
    }

    private static ControlException NotRunning(SegmentName name, Exception? inner) =>
        new(ControlError.NotRunning, $"no Balance instance is running on {Endpoint(name)}; start one with 'balance' or Start-Balance, or check the port and -b address", inner);

    private static ControlException Corrupt(SegmentName name, string why) =>
        new(ControlError.Corrupt, $"the control segment {name.Path} is damaged: {why}; stop any engine on {Endpoint(name)} and delete the file");

    /// <summary>The instance's endpoint as users write it (<c>address:port</c>), for messages and job names.</summary>
    public static string Endpoint(SegmentName name) =>
        ChannelSpec.FormatDestination(name.NormalizedAddress, name.Port);

    private readonly record struct SegmentLimits(int MaxGroups, int MaxChannels, int EventCapacity, int Stripes);
}
