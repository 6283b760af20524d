using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>A session side on the runtime's <see cref="Socket"/>: where the engine has no epoll loop.</summary>
internal sealed class RuntimeSocket : ISessionSocket
{
    private readonly Socket socket;

    public RuntimeSocket(Socket socket)
    {
        this.socket = socket;
    }

    public SafeHandle Handle => socket.SafeHandle;

    public Socket? Runtime => socket;

    /// <summary>A new TCP socket with TCP_NODELAY and SO_KEEPALIVE, as <see cref="DescriptorSocket.Open"/> makes on the loop.</summary>
    public static RuntimeSocket Open(AddressFamily family)
    {
        var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            SetSessionOptions(socket);
            return new RuntimeSocket(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>TCP_NODELAY and SO_KEEPALIVE, the original's options for both sides of a session (and the listener, whose clients inherit them).</summary>
    public static void SetSessionOptions(Socket socket)
    {
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
    }

    public void Bind(IPEndPoint local) => socket.Bind(local);

    public void ShutdownSend() => socket.Shutdown(SocketShutdown.Send);

    public void ShutdownAndClose()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Not connected (yet, or any more): nothing to shut down.
        }
        catch (ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    public void Dispose() => socket.Dispose();
}
