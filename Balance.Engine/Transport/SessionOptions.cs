using System.Net.Sockets;

namespace Balance.Transport;

/// <summary>The original's socket options for both sides of a session, on a runtime <see cref="Socket"/>.</summary>
internal static class SessionOptions
{
    /// <summary>
    /// TCP_NODELAY and SO_KEEPALIVE. Set on a listening socket, Linux and the BSDs copy both into
    /// every accepted socket, which saves two calls per client.
    /// </summary>
    public static void Apply(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
    }
}
