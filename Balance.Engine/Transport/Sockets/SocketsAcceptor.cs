using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Balance.Transport.Sockets;

/// <summary>Accepting with the runtime's asynchronous accept.</summary>
internal sealed class SocketsAcceptor : IAcceptor
{
    private readonly Socket listening;

    public SocketsAcceptor(Socket listening)
    {
        this.listening = listening;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<(ISessionSocket Client, IPEndPoint Remote)> AcceptAsync()
    {
        var client = await listening.AcceptAsync().ConfigureAwait(false);
        try
        {
            // Windows documents no inheritance of the listener's options; Linux and the BSDs
            // copy them into every accepted socket, which saves two calls per client.
            if (OperatingSystem.IsWindows())
            {
                SessionOptions.Apply(client);
            }

            // The runtime keeps the address the accept returned: reading it makes no system call.
            return (new RuntimeSocket(client), (IPEndPoint)client.RemoteEndPoint!);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Nothing of its own: closing the listening socket ends a pending accept.</summary>
    public void Dispose()
    {
    }
}
