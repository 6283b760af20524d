using System.Net;
using System.Net.Sockets;

namespace Balance.Control;

/// <summary>
/// Reads and writes a channel's destination under its seqlock (<see cref="ChannelRecord.AddressVersion"/>),
/// so the engine never connects to half of an old address and half of a new one.
/// </summary>
internal static unsafe class ChannelAddress
{
    private const long StuckWriterMs = 200;
    private const int LiveWriterSpins = 1000;

    /// <summary>Stores a resolved destination. Callers serialise writers (engine start, or the control lock).</summary>
    public static void Write(ControlSegment segment, int group, int channel, string host, IPAddress address, int port)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(address);
        ref var c = ref segment.Record(group, channel);
        var version = Volatile.Read(ref c.AddressVersion);
        Volatile.Write(ref c.AddressVersion, version | 1);
        Interlocked.MemoryBarrier();
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        fixed (byte* a = c.Address)
        {
            var bytes = new Span<byte>(a, 16);
            bytes.Clear();
            address.TryWriteBytes(bytes, out _);
        }

        c.AddressFamily = address.AddressFamily == AddressFamily.InterNetworkV6 ? 6 : 4;
        c.ScopeId = address.AddressFamily == AddressFamily.InterNetworkV6 ? (uint)address.ScopeId : 0;
        c.Port = port;
        fixed (byte* d = c.Destination)
        {
            ControlSegment.WriteText(new Span<byte>(d, ChannelRecord.DestinationCapacity), host, out var length);
            c.DestinationLength = length;
        }

        Interlocked.MemoryBarrier();
        Volatile.Write(ref c.AddressVersion, (version | 1) + 1);
    }

    /// <summary>
    /// Reads a consistent endpoint; <paramref name="version"/> tells a cache when to read again. A
    /// control client waits up to 200 ms for a writer; then it is a dead writer's half-write.
    /// </summary>
    public static IPEndPoint Read(ControlSegment segment, int group, int channel, out int version)
    {
        long deadline = 0;
        while (true)
        {
            if (TryRead(segment, group, channel, out var endpoint, out version))
            {
                return endpoint;
            }

            deadline = deadline == 0 ? Environment.TickCount64 + StuckWriterMs : deadline;
            if (Environment.TickCount64 > deadline)
            {
                throw Torn(group, channel);
            }

            Thread.Yield();
        }
    }

    /// <summary>
    /// The engine's read: never waits. A writer holds the odd version for microseconds, so a few
    /// spins cover a live one; after that the address counts as torn and this one connection is
    /// refused, instead of the engine's loop waiting on someone else's write (selection already
    /// skips a torn channel, so only an address torn between pick and read gets here).
    /// </summary>
    public static IPEndPoint ReadNow(ControlSegment segment, int group, int channel, out int version) =>
        TryRead(segment, group, channel, out var endpoint, out version) ? endpoint : throw Torn(group, channel);

    /// <summary>The cure for a torn address, worded once for every reader.</summary>
    /// <remarks>Short enough for an event record's text.</remarks>
    public static string TornMessage(int group, int channel) =>
        $"address of group {group} channel {channel} half-written; skipped: disable it and assign it again";

    private static bool TryRead(ControlSegment segment, int group, int channel, out IPEndPoint endpoint, out int version)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ref var c = ref segment.Record(group, channel);
        Span<byte> bytes = stackalloc byte[16];
        for (var spin = 0; spin < LiveWriterSpins; spin++)
        {
            version = Volatile.Read(ref c.AddressVersion);
            if ((version & 1) == 0)
            {
                fixed (byte* a = c.Address)
                {
                    new ReadOnlySpan<byte>(a, 16).CopyTo(bytes);
                }

                var family = c.AddressFamily;
                var scope = c.ScopeId;
                var port = c.Port;
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref c.AddressVersion) == version)
                {
                    var address = family == 6 ? new IPAddress(bytes, scope) : new IPAddress(bytes[..4]);
                    endpoint = new IPEndPoint(address, port is >= 0 and <= 65535 ? port : 0);
                    return true;
                }
            }

            Thread.SpinWait(1);
        }

        endpoint = null!;
        version = 0;
        return false;
    }

    private static ControlException Torn(int group, int channel) => new(ControlError.Corrupt, TornMessage(group, channel));

    /// <summary>Resolves a host for a channel; IPv4 first, like the original, unless only IPv6 exists.</summary>
    public static IPAddress Resolve(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var text = host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
        if (IPAddress.TryParse(text, out var literal))
        {
            return literal;
        }

        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(text);
        }
        catch (SocketException e)
        {
            throw new ControlException(ControlError.InvalidAddress, $"invalid address [{host}]: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ControlException(ControlError.InvalidAddress, $"invalid address [{host}]: {e.Message}", e);
        }

        return found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? found.FirstOrDefault()
            ?? throw new ControlException(ControlError.InvalidAddress, $"invalid address [{host}]: the name has no address");
    }
}
