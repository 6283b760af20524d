using System.Net;
using System.Net.Sockets;

namespace Balance.Policies;

/// <summary>
/// The client hash of hash groups: h = 31·h + (signed) byte, modulo 2^32, over the client's
/// 16-byte IPv6 address (IPv4 clients as <c>::ffff:a.b.c.d</c>), its 4-byte scope id
/// (little-endian) and 8 zero bytes. That window is what the original hashed on IPv6 listeners,
/// so existing hash assignments survive a switch; unlike the original, IPv4 clients on an IPv4
/// listener are hashed by their address instead of by stack garbage.
/// </summary>
internal static class ClientHash
{
    private const int TailZeroBytes = 8;

    public static uint Compute(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        uint scope = 0;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes[..10].Clear();
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
            scope = (uint)address.ScopeId;
        }

        return Compute(bytes, scope);
    }

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

    // The original added each byte as a signed char, so 0xFF counts as -1.
    private static uint Step(uint h, byte b) => unchecked((31 * h) + (uint)(sbyte)b);
}
