using System.Net;
using System.Net.Sockets;

namespace Balance.Control;

/// <summary>
/// Reads and writes a channel's destination under its seqlock (<see cref="ChannelRecord.AddressVersion"/>),
/// so the engine never connects to half of an old address and half of a new one.
/// </summary>
public static unsafe class ChannelAddress
{
    private const long StuckWriterMs = 200;

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

    /// <summary>Reads a consistent endpoint; <paramref name="version"/> tells a cache when to read again.</summary>
    public static IPEndPoint Read(ControlSegment segment, int group, int channel, out int version)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ref var c = ref segment.Record(group, channel);
        Span<byte> bytes = stackalloc byte[16];
        long deadline = 0;
        for (var spin = 0; ; spin++)
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
                    return new IPEndPoint(address, port is >= 0 and <= 65535 ? port : 0);
                }
            }

            if (spin > 1000)
            {
                // A writer holds the odd version for microseconds. One that died mid-write (or a
                // hostile one) leaves it odd until the next assign repairs it: refuse, never spin forever.
                deadline = deadline == 0 ? Environment.TickCount64 + StuckWriterMs : deadline;
                if (Environment.TickCount64 > deadline)
                {
                    throw new ControlException(
                        ControlError.Corrupt,
                        $"the address of group {group} channel {channel} stayed half-written for {StuckWriterMs} ms (a control client died while assigning it?); assign it again");
                }

                Thread.Yield();
            }
        }
    }

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
