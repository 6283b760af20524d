using System.IO.MemoryMappedFiles;
using System.Text;
using Balance.Configuration;

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
    private readonly long eventsOffset;
    private int disposed;

    private ControlSegment(SegmentName name, MemoryMappedFile map, MemoryMappedViewAccessor view, int maxGroups, int maxChannels, int eventCapacity)
    {
        Name = name;
        this.map = map;
        this.view = view;
        MaxGroups = maxGroups;
        MaxChannels = maxChannels;
        EventCapacity = eventCapacity;
        groupsOffset = SegmentLayout.GroupsOffset;
        channelsOffset = SegmentLayout.ChannelsOffset(maxGroups);
        eventsOffset = SegmentLayout.EventsOffset(maxGroups, maxChannels);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        basePointer = p + view.PointerOffset;
    }

    public SegmentName Name { get; }

    public int MaxGroups { get; }

    public int MaxChannels { get; }

    public int EventCapacity { get; }

    public ref SegmentHeader Header => ref *(SegmentHeader*)basePointer;

    public EngineState State => (EngineState)Volatile.Read(ref Header.State);

    /// <summary>
    /// Creates a fresh segment for an engine that already holds the owner lock: whatever file was
    /// there belonged to a dead engine and is replaced, so no ghost channel or counter survives.
    /// </summary>
    public static ControlSegment Create(SegmentName name, BalanceConfiguration configuration, int eventCapacity = SegmentLayout.DefaultEventCapacity)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configuration);
        var maxGroups = configuration.MaxGroups;
        var maxChannels = configuration.MaxChannelsPerGroup;
        var size = SegmentLayout.TotalSize(maxGroups, maxChannels, eventCapacity);
        File.Delete(name.Path);

        // CreateNew never reuses or follows whatever appeared under the name since the delete.
        var stream = OwnedFile.Open(name.Path, OwnedFileMode.CreateNew, lockExclusive: false)!;
        stream.SetLength(size);
        var segment = Map(name, stream, maxGroups, maxChannels, eventCapacity);
        ref var h = ref segment.Header;
        h.HeaderSize = SegmentLayout.HeaderSize;
        h.GroupRecordSize = SegmentLayout.GroupRecordSize;
        h.ChannelRecordSize = SegmentLayout.ChannelRecordSize;
        h.EventRecordSize = SegmentLayout.EventRecordSize;
        h.MaxGroups = maxGroups;
        h.MaxChannels = maxChannels;
        h.EventCapacity = eventCapacity;
        h.TotalSize = size;
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
        return segment;
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
            throw new ControlException(ControlError.PermissionDenied, $"permission denied: {e.Message}", e);
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
            var (maxGroups, maxChannels, events) = ValidateHeader(name, stream);
            return Map(name, stream, maxGroups, maxChannels, events);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public ref GroupRecord Group(int group)
    {
        if ((uint)group >= (uint)MaxGroups)
        {
            throw new ControlException(ControlError.NoSuchGroup, $"no group {group}: groups are numbered 0 to {MaxGroups - 1}");
        }

        return ref *(GroupRecord*)(basePointer + groupsOffset + ((long)group * SegmentLayout.GroupRecordSize));
    }

    public ref ChannelRecord Channel(int group, int channel)
    {
        if ((uint)group >= (uint)MaxGroups)
        {
            throw new ControlException(ControlError.NoSuchGroup, $"no group {group}: groups are numbered 0 to {MaxGroups - 1}");
        }

        if ((uint)channel >= (uint)MaxChannels)
        {
            throw new ControlException(ControlError.NoSuchChannel, $"no channel {channel}: a group holds channels 0 to {MaxChannels - 1}");
        }

        return ref *(ChannelRecord*)(basePointer + channelsOffset + ((((long)group * MaxChannels) + channel) * SegmentLayout.ChannelRecordSize));
    }

    /// <summary>Channels in use in a group, clamped to the limit so a corrupt count cannot lead past the records.</summary>
    public int ChannelCount(int group) => Math.Clamp(Volatile.Read(ref Group(group).ChannelCount), 0, MaxChannels);

    public GroupType GroupTypeOf(int group) => Volatile.Read(ref Group(group).Type) == (int)GroupType.Hash ? GroupType.Hash : GroupType.RoundRobin;

    public ref EventRecord EventSlot(long sequence)
    {
        if (EventCapacity == 0)
        {
            throw new InvalidOperationException("this segment has no event ring");
        }

        var slot = (int)((ulong)sequence % (ulong)EventCapacity);
        return ref *(EventRecord*)(basePointer + eventsOffset + ((long)slot * SegmentLayout.EventRecordSize));
    }

    public string ReadDestination(int group, int channel)
    {
        ref var c = ref Channel(group, channel);
        fixed (byte* d = c.Destination)
        {
            var length = Math.Clamp(Volatile.Read(ref c.DestinationLength), 0, ChannelRecord.DestinationCapacity);
            return Encoding.UTF8.GetString(d, length);
        }
    }

    public string ReadListenAddress()
    {
        fixed (byte* a = Header.ListenAddress)
        {
            return ReadText(new ReadOnlySpan<byte>(a, SegmentHeader.TextCapacity));
        }
    }

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

    public static string ReadText(ReadOnlySpan<byte> source)
    {
        var end = source.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? source : source[..end]);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map.Dispose();
    }

    private static ControlSegment Map(SegmentName name, FileStream stream, int maxGroups, int maxChannels, int eventCapacity)
    {
        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        try
        {
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite);
            return new ControlSegment(name, map, view, maxGroups, maxChannels, eventCapacity);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private static (int MaxGroups, int MaxChannels, int Events) ValidateHeader(SegmentName name, FileStream stream)
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
            throw new ControlException(
                ControlError.IncompatibleLayout,
                $"layout mismatch: the instance on {Endpoint(name)} uses control segment layout {h.LayoutVersion}, this Balance understands layout {SegmentLayout.LayoutVersion}; use the Balance version that started it");
        }

        if (h.HeaderSize != SegmentLayout.HeaderSize || h.GroupRecordSize != SegmentLayout.GroupRecordSize
            || h.ChannelRecordSize != SegmentLayout.ChannelRecordSize || h.EventRecordSize != SegmentLayout.EventRecordSize)
        {
            throw Corrupt(name, "its record sizes do not match its layout version");
        }

        if (h.MaxGroups is < 1 or > BalanceConfiguration.LimitMaxGroups
            || h.MaxChannels is < 1 or > BalanceConfiguration.LimitMaxChannelsPerGroup
            || h.EventCapacity is < 0 or > SegmentLayout.MaxEventCapacity)
        {
            throw Corrupt(name, $"its limits are out of range (groups {h.MaxGroups}, channels {h.MaxChannels}, events {h.EventCapacity})");
        }

        var expected = SegmentLayout.TotalSize(h.MaxGroups, h.MaxChannels, h.EventCapacity);
        if (h.TotalSize != expected || length < expected)
        {
            throw Corrupt(name, $"it is {length} bytes long but its header needs {expected}");
        }

        return (h.MaxGroups, h.MaxChannels, h.EventCapacity);
    }

    private static ControlException NotRunning(SegmentName name, Exception? inner) =>
        new(ControlError.NotRunning, $"no Balance instance is running on {Endpoint(name)}; start one with 'balance' or Start-Balance, or check the port and -b address", inner);

    private static ControlException Corrupt(SegmentName name, string why) =>
        new(ControlError.Corrupt, $"the control segment {name.Path} is damaged: {why}; stop any engine on {Endpoint(name)} and delete the file");

    public static string Endpoint(SegmentName name) =>
        ChannelSpec.FormatDestination(name.NormalizedAddress, name.Port);
}
