using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Balance.Transport.Epoll;

/// <summary>
/// Accepting on the loop: the accept runs on the same thread as the connect and the relay that
/// follow it, and it is the system call itself (<c>accept4</c>, which hands the client over
/// non-blocking); the runtime's accept never touches the listener.
/// </summary>
internal sealed class EpollAcceptor : IAcceptor
{
    private readonly Socket listening;
    private readonly SocketRegistration registration;

    public EpollAcceptor(EpollLoop loop, Socket listening)
    {
        this.listening = listening;
        listening.Blocking = false;
        registration = loop.Register(listening.SafeHandle);
    }

    /// <summary>One <c>accept4</c>, and a wait for the loop's next edge only when nobody was there.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<(ISessionSocket Client, IPEndPoint Remote)> AcceptAsync()
    {
        while (true)
        {
            registration.Readable.Clear();
            if (DescriptorSocket.TryAccept(listening.SafeHandle, out var remote) is { } client)
            {
                return (client, remote!);
            }

            if (await registration.Readable.WaitAsync().ConfigureAwait(false) < 0)
            {
                throw new ObjectDisposedException(nameof(EpollAcceptor));
            }
        }
    }

    public void Dispose() => registration.Leave();
}
