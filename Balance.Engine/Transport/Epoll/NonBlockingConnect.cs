using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Balance.Interop;

namespace Balance.Transport.Epoll;

/// <summary>
/// Starts a connect on a non-blocking descriptor with the system call itself, so the socket never
/// enters the runtime's epoll set. The address is laid out on the stack (<see cref="RawSocketAddress"/>).
/// </summary>
internal static unsafe class NonBlockingConnect
{
    /// <summary>
    /// <see cref="SocketError.Success"/> when connected at once, <see cref="SocketError.InProgress"/>
    /// when the caller must wait until the socket is writable, or the error.
    /// </summary>
    public static SocketError Start(SafeHandle socket, IPEndPoint endpoint)
    {
        var address = stackalloc byte[RawSocketAddress.MaxLength];
        var length = RawSocketAddress.Write(endpoint, new Span<byte>(address, RawSocketAddress.MaxLength));
        return Errors.Of(Libc.Connect(socket, address, length)).ToSocketError();
    }
}
