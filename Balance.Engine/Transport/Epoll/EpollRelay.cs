using System.Net.Sockets;
using Balance.Proxy;

namespace Balance.Transport.Epoll;

/// <summary>
/// Starts both relay directions of a session on the loop (<see cref="EpollPump"/>): the client
/// socket joins the loop here, the back-end's joined it with its connect.
/// </summary>
internal sealed class EpollRelay
{
    private readonly EpollLoop loop;
    private readonly PipePool? pipes;
    private readonly TextWriter? dump;
    private readonly Action<int, int, string> reportError;

    public EpollRelay(EpollLoop loop, PipePool? pipes, TextWriter? dump, Action<int, int, string> reportError)
    {
        this.loop = loop;
        this.pipes = pipes;
        this.dump = dump;
        this.reportError = reportError;
    }

    public void Start(Session session)
    {
        var client = (DescriptorSocket)session.Client;
        var backend = (DescriptorSocket)session.Backend!;
        if (!AttachClient(client, session))
        {
            session.Abort();
            session.Finish();
            return;
        }

        session.StartRelaying();

        // Both directions start right here: each runs until its first read that has to wait,
        // which for the back-end side is at once (it has not been sent anything yet).
        _ = new EpollPump(loop, session, backend, client, pipes, dump, backend.HeldAck, clientToBackend: false).RunAsync();
        _ = new EpollPump(loop, session, client, backend, pipes, dump, backend.HeldAck, clientToBackend: true).RunAsync();
    }

    /// <summary>Puts the client socket in the loop; false when the session cannot relay.</summary>
    private bool AttachClient(DescriptorSocket client, Session session)
    {
        try
        {
            var io = loop.Register(client);
            client.Attach(io);
            if (!session.IsAborted)
            {
                return true;
            }

            io.Abort();
            return false;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            reportError(session.Group, session.Channel, "epoll loop: " + e.Message);
            return false;
        }
    }
}
