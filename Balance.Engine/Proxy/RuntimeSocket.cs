using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>A session side on the runtime's <see cref="Socket"/>: where the engine has no epoll loop.</summary>
internal sealed class RuntimeSocket : ISessionSocket
{
    public RuntimeSocket(Socket socket)
    {
        Socket = socket;
    }

    public Socket Socket { get; }

    public SafeHandle Handle => Socket.SafeHandle;

    public Socket? Runtime => Socket;

    public void Bind(IPEndPoint local) => Socket.Bind(local);

    public void ShutdownSend() => Socket.Shutdown(SocketShutdown.Send);

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

    public void Dispose() => Socket.Dispose();
}
