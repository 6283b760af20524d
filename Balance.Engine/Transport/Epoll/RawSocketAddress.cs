using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Balance.Transport.Epoll;

/// <summary>
/// Linux's <c>sockaddr_in</c> / <c>sockaddr_in6</c>, written and read on the caller's stack for the
/// engine's own system calls: <see cref="IPEndPoint.Serialize"/> would allocate on every connect.
/// </summary>
internal static class RawSocketAddress
{
    /// <summary>Room for either layout (<c>sizeof(struct sockaddr_in6)</c>).</summary>
    public const int MaxLength = 28;

    private const ushort FamilyInet = 2;
    private const ushort FamilyInet6 = 10;

    /// <summary>Writes <paramref name="endpoint"/> into <paramref name="address"/> (at least <see cref="MaxLength"/> bytes); returns the length used.</summary>
    public static int Write(IPEndPoint endpoint, Span<byte> address)
    {
        address[..MaxLength].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(address[2..], (ushort)endpoint.Port);
        if (endpoint.AddressFamily == AddressFamily.InterNetwork)
        {
            BitConverter.TryWriteBytes(address, FamilyInet);
            endpoint.Address.TryWriteBytes(address.Slice(4, 4), out _);
            return 16;
        }

        BitConverter.TryWriteBytes(address, FamilyInet6);
        endpoint.Address.TryWriteBytes(address.Slice(8, 16), out _);
        BitConverter.TryWriteBytes(address[24..], (uint)endpoint.Address.ScopeId);
        return MaxLength;
    }

    /// <summary>
    /// The endpoint in <paramref name="address"/>, as the runtime's sockets report it (an IPv4
    /// client of a dual-stack listener stays an IPv4-mapped IPv6 address); null for another family.
    /// </summary>
    public static IPEndPoint? Read(ReadOnlySpan<byte> address)
    {
        if (address.Length < 16)
        {
            return null;
        }

        var family = BitConverter.ToUInt16(address);
        var port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        if (family == FamilyInet)
        {
            return new IPEndPoint(new IPAddress(address.Slice(4, 4)), port);
        }

        if (family == FamilyInet6 && address.Length >= MaxLength)
        {
            return new IPEndPoint(new IPAddress(address.Slice(8, 16), BitConverter.ToUInt32(address[24..])), port);
        }

        return null;
    }
}
