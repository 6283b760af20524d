using System.Net;
using System.Net.Sockets;

namespace Balance.Transport;

/// <summary>
/// One side of a session, the client's or the back-end's, made by the transport that relays it:
/// only that transport looks inside (a bare descriptor on the epoll transport, the runtime's
/// <see cref="Socket"/> on the sockets transport). Disposing it ends every wait on it and closes it.
/// </summary>
internal interface ISessionSocket : IDisposable
{
    /// <summary>Binds the local end (the <c>-B</c> source address); throws <see cref="SocketException"/>.</summary>
    void Bind(IPEndPoint local);

    /// <summary>Sets the TCP keepalive timing (<c>--keepalive</c>); throws <see cref="SocketException"/>.</summary>
    void SetKeepalive(Configuration.KeepaliveTiming timing);

    /// <summary>Sends FIN after what was sent; receiving goes on. Throws <see cref="SocketException"/>.</summary>
    void ShutdownSend();

    /// <summary>
    /// Ends the connection both ways with FIN, never a reset (which closing a socket with unread
    /// data would send), ends every wait on it, then closes it. Errors are ignored: it may be
    /// half-open or gone already.
    /// </summary>
    void ShutdownAndClose();
}
