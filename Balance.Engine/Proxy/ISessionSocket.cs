using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// One side of a session, the client's or the back-end's. On the engine's epoll loop it is a bare
/// descriptor (<see cref="DescriptorSocket"/>): a .NET <see cref="Socket"/> costs system calls of
/// its own on every connection that the loop does not need. Without the loop it is the runtime's
/// socket (<see cref="RuntimeSocket"/>), whose asynchronous operations the relay then uses.
/// </summary>
internal interface ISessionSocket : IDisposable
{
    /// <summary>The descriptor, for the epoll loop and its direct calls (<see cref="NonBlockingIo"/>).</summary>
    SafeHandle Handle { get; }

    /// <summary>The runtime's socket, for its asynchronous operations; null for a bare descriptor.</summary>
    Socket? Runtime { get; }

    /// <summary>Binds the local end (the <c>-B</c> source address); throws <see cref="SocketException"/>.</summary>
    void Bind(IPEndPoint local);

    /// <summary>Sends FIN after what was sent; receiving goes on. Throws <see cref="SocketException"/>.</summary>
    void ShutdownSend();

    /// <summary>
    /// Ends the connection both ways with FIN, never a reset (which closing a socket with unread
    /// data would send), then closes it. Errors are ignored: it may be half-open or gone already.
    /// </summary>
    void ShutdownAndClose();
}
