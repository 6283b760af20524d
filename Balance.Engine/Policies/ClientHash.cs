using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Balance.Policies;

/// <summary>
/// The client hash of hash groups: h = 31·h + (signed) byte, modulo 2^32, over the client's
/// 16-byte IPv6 address (IPv4 clients as <c>::ffff:a.b.c.d</c>), its 4-byte scope id
/// (little-endian) and 8 zero bytes. That window is what the original hashed on IPv6 listeners,
/// so existing hash assignments survive a switch; unlike the original, IPv4 clients on an IPv4
/// listener are hashed by their address instead of by stack garbage.
/// The fold keeps little of an IPv4 address (a /16 folds into about 8,000 values), so consistent
/// hashing keys on <see cref="Key(IPAddress)"/> instead: every bit of the same 20-byte window, mixed.
/// </summary>
internal static class ClientHash
{
    private const int TailZeroBytes = 8;

    public static uint Compute(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        var scope = Window(address, bytes);
        return Compute(bytes, scope);
    }

    /// <summary>
    /// A 64-bit key of the client's address and scope, the same for the same client in every process
    /// (fixed constants, never a per-process seed); what Maglev groups look up.
    /// </summary>
    public static ulong Key(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        var scope = Window(address, bytes);
        var key = Mixing.Mix(BinaryPrimitives.ReadUInt64LittleEndian(bytes) ^ Mixing.AddressSeed);
        key = Mixing.Mix(key ^ BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]));
        return Mixing.Mix(key ^ scope);
    }

    /// <summary>The key of a client known only by its original hash (a caller that kept no address): mixed, but no better spread than the fold.</summary>
    public static ulong KeyOf(uint clientHash) => Mixing.Mix(clientHash ^ Mixing.AddressSeed);

    /// <summary>Hash of a 16-byte IPv6 address and scope id.</summary>
    public static uint Compute(ReadOnlySpan<byte> address16, uint scopeId)
    {
        uint h = 0;
        foreach (var b in address16)
        {
            h = Step(h, b);
        }

        for (var i = 0; i < 4; i++)
        {
            h = Step(h, (byte)(scopeId >> (8 * i)));
        }

        for (var i = 0; i < TailZeroBytes; i++)
        {
            h = Step(h, 0);
        }

        return h;
    }

    private static uint Window(IPAddress address, Span<byte> bytes)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes[..10].Clear();
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
            address.TryWriteBytes(bytes[12..], out _);
            return 0;
        }

        address.TryWriteBytes(bytes, out _);
        return (uint)address.ScopeId;
    }

    // The original added each byte as a signed char, so 0xFF counts as -1.
    private static uint Step(uint h, byte b) => unchecked((31 * h) + (uint)(sbyte)b);
}
