using System.Net;
using System.Net.Sockets;

namespace Balance.Transport.Sockets;

/// <summary>
/// A session side on the runtime's <see cref="System.Net.Sockets.Socket"/>, with the reusable
/// operation (<see cref="SocketOperation"/>) that connects it and then serves the relay direction
/// that reads from it (a direction never has a receive and a send outstanding at once).
/// </summary>
internal sealed class RuntimeSocket : ISessionSocket
{
    private SocketOperation? operation;

    public RuntimeSocket(Socket socket)
    {
        Socket = socket;
    }

    public Socket Socket { get; }

    /// <summary>Made at first use: a finalizable object with buffers of its own.</summary>
    public SocketOperation Operation => operation ??= new();

    public void SetKeepalive(Configuration.KeepaliveTiming timing) => SessionOptions.ApplyKeepalive(Socket, timing);

    /// <summary>A new TCP socket with TCP_NODELAY and SO_KEEPALIVE, as the epoll transport's descriptors have.</summary>
    public static RuntimeSocket Open(AddressFamily family)
    {
        var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            SessionOptions.Apply(socket);
            return new RuntimeSocket(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Bind(IPEndPoint local) => Socket.Bind(local);

    public void ShutdownSend() => Socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes the socket, which ends its pending operations; the operation itself goes with <see cref="Dispose"/>, once nothing uses it.</summary>
    public void ShutdownAndClose()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Not connected (yet, or any more): nothing to shut down.
        }
        catch (ObjectDisposedException)
        {
        }

        Socket.Dispose();
    }

    public void Dispose()
    {
        Socket.Dispose();
        operation?.Dispose();
    }
}
