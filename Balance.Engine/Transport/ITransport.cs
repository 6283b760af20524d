using System.Net;
using System.Net.Sockets;
using Balance.Proxy;

namespace Balance.Transport;

/// <summary>
/// One I/O model's accept, connect and relay, owned by one worker (Kestrel's connection listener
/// and connection context in one seam). The engine talks to this alone: only a transport knows
/// which system calls move the bytes. Constructing one does nothing; <see cref="Start"/> starts
/// its loop, <see cref="Stop"/> ends it once its sessions are gone.
/// </summary>
internal interface ITransport
{
    /// <summary>"epoll" or "sockets", for diagnostics and tests.</summary>
    string Name { get; }

    /// <summary>Descriptors the transport keeps besides two per session (its pipes), for the session limit.</summary>
    int ReservedDescriptors { get; }

    /// <summary>Starts the transport's loop; a transport that cannot run throws <see cref="SocketException"/>.</summary>
    void Start();

    /// <summary>Takes over accepting on a bound, listening socket; disposing the acceptor stops it (the caller closes the socket).</summary>
    IAcceptor Accept(Socket listening);

    /// <summary>A new back-end socket with TCP_NODELAY and SO_KEEPALIVE; throws <see cref="SocketException"/>.</summary>
    ISessionSocket OpenBackend(AddressFamily family);

    /// <summary>
    /// Connects <paramref name="socket"/>, the back-end of <paramref name="session"/>'s attempt
    /// <paramref name="token"/>, and reports how it ended as a value (never throws for the network).
    /// </summary>
    ValueTask<SocketError> ConnectAsync(Session session, ISessionSocket socket, IPEndPoint endpoint, long token);

    /// <summary>Relays both directions of a connected session until both are over, then finishes it.</summary>
    void Relay(Session session);

    /// <summary>Runs <paramref name="tick"/> every <paramref name="period"/> until the returned handle stops it.</summary>
    ITicks Schedule(Action tick, TimeSpan period);

    /// <summary>Ends the loop and frees its resources; false when its thread did not end in time and may still run.</summary>
    bool Stop();
}

/// <summary>The accepting half of a transport, on one listening socket.</summary>
internal interface IAcceptor : IDisposable
{
    /// <summary>
    /// The next client and its address. Throws <see cref="SocketException"/> for the errors the
    /// system reports (out of descriptors, a client that gave up) and
    /// <see cref="ObjectDisposedException"/> once the acceptor or its socket is closed.
    /// </summary>
    ValueTask<(ISessionSocket Client, IPEndPoint Remote)> AcceptAsync();
}

/// <summary>A periodic task of a transport (the worker's sweeper).</summary>
internal interface ITicks
{
    /// <summary>Stops the ticks; false when a tick under way has not ended in time.</summary>
    bool Stop();
}
