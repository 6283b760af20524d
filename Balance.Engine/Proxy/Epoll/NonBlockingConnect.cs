using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// Starts a connect on a non-blocking socket with the system call itself, so the socket never
/// enters the runtime's epoll set (its <c>ConnectAsync</c> would put it there for good). The
/// address is laid out as Linux's <c>sockaddr_in</c> / <c>sockaddr_in6</c> on the stack.
/// </summary>
internal static unsafe class NonBlockingConnect
{
    private const ushort FamilyInet = 2;
    private const ushort FamilyInet6 = 10;

    /// <summary>
    /// <see cref="SocketError.Success"/> when connected at once, <see cref="SocketError.InProgress"/>
    /// when the caller must wait until the socket is writable, or the error.
    /// </summary>
    public static SocketError Start(Socket socket, IPEndPoint endpoint)
    {
        Span<byte> address = stackalloc byte[28];
        address.Clear();
        int length;
        if (endpoint.AddressFamily == AddressFamily.InterNetwork)
        {
            length = 16;
            BitConverter.TryWriteBytes(address, FamilyInet);
            BinaryPrimitives.WriteUInt16BigEndian(address[2..], (ushort)endpoint.Port);
            endpoint.Address.TryWriteBytes(address.Slice(4, 4), out _);
        }
        else
        {
            length = 28;
            BitConverter.TryWriteBytes(address, FamilyInet6);
            BinaryPrimitives.WriteUInt16BigEndian(address[2..], (ushort)endpoint.Port);
            endpoint.Address.TryWriteBytes(address.Slice(8, 16), out _);
            BitConverter.TryWriteBytes(address[24..], (uint)endpoint.Address.ScopeId);
        }

        int result;
        fixed (byte* bytes = address)
        {
            result = EpollNative.Connect(socket.SafeHandle, bytes, length);
        }

        if (result == 0)
        {
            return SocketError.Success;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == LinuxErrors.InProgress ? SocketError.InProgress : LinuxErrors.ToSocketError(errno);
    }

    /// <summary>How a connect that was in progress ended, read from SO_ERROR once the socket is writable.</summary>
    public static SocketError Finish(Socket socket)
    {
        try
        {
            var errno = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            return errno == 0 ? SocketError.Success : LinuxErrors.ToSocketError(errno);
        }
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
