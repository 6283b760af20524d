using System.Net.Sockets;
using Balance.Configuration;

namespace Balance.Transport;

/// <summary>The original's socket options for both sides of a session, on a runtime <see cref="Socket"/>.</summary>
internal static class SessionOptions
{
    /// <summary>
    /// TCP_NODELAY and SO_KEEPALIVE. Set on a listening socket, Linux and the BSDs copy both into
    /// every accepted socket, which saves two calls per client.
    /// </summary>
    public static void Apply(Socket socket, KeepaliveTiming? keepalive = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        if (keepalive is not null)
        {
            ApplyKeepalive(socket, keepalive);
        }
    }

    /// <summary>
    /// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT (<c>--keepalive</c>). Set on a listening socket,
    /// Linux copies them into every accepted socket, as it does SO_KEEPALIVE.
    /// </summary>
    public static void ApplyKeepalive(Socket socket, KeepaliveTiming keepalive)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(keepalive);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, keepalive.IdleSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, keepalive.IntervalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, keepalive.Count);
    }
}
