using System.Net;
using Balance.Control;
using Balance.Policies;

namespace Balance.Proxy;

/// <summary>
/// One client connection from accept to close: the two sockets, the reserved channel slot, the
/// connect deadline and the last-activity time the sweeper reads. Whatever way a session ends
/// (both sides done, error, idle timeout, engine stop), <see cref="Finish"/> runs its cleanup
/// exactly once, so the channel's connection count is released exactly once.
/// </summary>
internal sealed class Session
{
    // connectState = attempt number * 4 + one of these; the attempt number defeats ABA between the
    // sweeper timing out one attempt and the connector starting the next one.
    private const long Connecting = 0;
    private const long Connected = 1;
    private const long Failed = 2;
    private const long TimedOut = 3;
    private const long StateMask = 3;

    private readonly EngineContext context;
    private ISessionSocket? backend;
    private SocketRegistration? clientIo;
    private SocketRegistration? backendIo;
    private SocketOperation? upstream;
    private SocketOperation? downstream;
    private long connectState = Connected;
    private long connectDeadline;
    private long lastActivity;
    private int reserved;
    private int aborted;
    private int pumpsLeft = 2;
    private int finished;
    private int relaying;

    public Session(EngineContext context, ISessionSocket client, IPEndPoint remote, uint clientHash)
    {
        this.context = context;
        Client = client;
        Remote = remote;
        ClientHash = clientHash;
    }

    public ISessionSocket Client { get; }

    /// <summary>
    /// Connect, then client-to-back-end relay, on the runtime's asynchronous sockets. Made at first
    /// use: on the engine's epoll loop a session needs neither operation, and each is a finalizable
    /// object with buffers of its own.
    /// </summary>
    public SocketOperation Upstream => upstream ??= new();

    /// <summary>Back-end-to-client relay on the runtime's asynchronous sockets; made at first use.</summary>
    public SocketOperation Downstream => downstream ??= new();

    public ISessionSocket? Backend => Volatile.Read(ref backend);

    /// <summary>The current attempt's held ACKs (<see cref="HeldAck"/>); null when it holds none.</summary>
    public HeldAck? BackendAck { get; set; }

    /// <summary>The client socket's readiness in the engine's epoll loop; null without a loop.</summary>
    public SocketRegistration? ClientIo => Volatile.Read(ref clientIo);

    /// <summary>The back-end socket's readiness in the engine's epoll loop (of the current attempt); null without a loop.</summary>
    public SocketRegistration? BackendIo => Volatile.Read(ref backendIo);

    public IPEndPoint Remote { get; }

    public uint ClientHash { get; }

    public int Group { get; private set; } = -1;

    public int Channel { get; private set; } = -1;

    /// <summary>Index in the <see cref="SessionTable"/>; -1 when not registered.</summary>
    public int Slot { get; set; } = -1;

    public bool IsAborted => Volatile.Read(ref aborted) != 0;

    public bool IsRelaying => Volatile.Read(ref relaying) != 0;

    public ref ChannelRecord ChannelRecord => ref context.Segment.Record(Group, Channel);

    /// <summary>The channel's counters this engine adds to.</summary>
    public ref ChannelStripe Counters => ref context.Stripe(Group, Channel);

    /// <summary>Takes ownership of a slot the selector reserved.</summary>
    public void Assign(ChannelChoice choice)
    {
        Group = choice.Group;
        Channel = choice.Channel;
        Volatile.Write(ref reserved, 1);
    }

    public void ReleaseSlot()
    {
        if (Interlocked.Exchange(ref reserved, 0) == 1)
        {
            ChannelSelector.Release(ref ChannelRecord);
        }
    }

    /// <summary>Publishes a connect attempt on <paramref name="socket"/>; returns its token for <see cref="TryEndAttempt"/>.</summary>
    public long BeginAttempt(ISessionSocket socket, long deadline)
    {
        Interlocked.Exchange(ref backend, socket);
        Volatile.Write(ref connectDeadline, deadline);
        var token = ((Volatile.Read(ref connectState) / 4) + 1) * 4;
        context.ConnectStarted();
        Volatile.Write(ref connectState, token + Connecting);
        return token;
    }

    /// <summary>Settles the attempt; false when the sweeper timed it out first (the socket is then closed).</summary>
    public bool TryEndAttempt(long token, bool connected)
    {
        if (Interlocked.CompareExchange(ref connectState, token + (connected ? Connected : Failed), token + Connecting) != token + Connecting)
        {
            return false;
        }

        context.ConnectEnded();
        return true;
    }

    /// <summary>Sweeper side: closes a connect attempt that is past its deadline.</summary>
    public bool IsConnectOverdue(long now) =>
        (Volatile.Read(ref connectState) & StateMask) == Connecting && now >= Volatile.Read(ref connectDeadline);

    public void TimeOutConnect(long now)
    {
        var state = Volatile.Read(ref connectState);
        if ((state & StateMask) != Connecting)
        {
            return;
        }

        // Read after the state: BeginAttempt writes socket and deadline before it publishes the state.
        var socket = Volatile.Read(ref backend);
        if (now < Volatile.Read(ref connectDeadline))
        {
            return;
        }

        if (Interlocked.CompareExchange(ref connectState, state - Connecting + TimedOut, state) == state)
        {
            context.ConnectEnded();
            socket?.Dispose();
            Volatile.Read(ref backendIo)?.Abort();
        }
    }

    /// <summary>
    /// Publishes the client socket's registration. False when the session was aborted first; the
    /// registration is then aborted too, so nothing waits on it.
    /// </summary>
    public bool AttachClientIo(SocketRegistration registration)
    {
        Interlocked.Exchange(ref clientIo, registration);
        if (!IsAborted)
        {
            return true;
        }

        registration.Abort();
        return false;
    }

    /// <summary>
    /// Publishes the registration of attempt <paramref name="token"/>'s socket. False when the
    /// attempt timed out or the session was aborted first; the registration is then aborted too.
    /// </summary>
    public bool AttachBackendIo(SocketRegistration registration, long token)
    {
        Interlocked.Exchange(ref backendIo, registration);
        if (!IsAborted && Volatile.Read(ref connectState) == token + Connecting)
        {
            return true;
        }

        registration.Abort();
        return false;
    }

    /// <summary>Forgets a failed attempt's registration (its socket is about to close).</summary>
    public void DetachBackendIo(SocketRegistration registration)
    {
        if (Interlocked.CompareExchange(ref backendIo, null, registration) == registration)
        {
            context.Loop?.Unregister(registration);
        }
    }

    public bool IsIdle(long now, long idleMs) => IsRelaying && now - Volatile.Read(ref lastActivity) >= idleMs;

    public void Touch() => Volatile.Write(ref lastActivity, Environment.TickCount64);

    public void StartRelaying()
    {
        Touch();
        Volatile.Write(ref relaying, 1);
    }

    /// <summary>Adds relayed bytes to the channel's counters: sent to the back-end, or received from it.</summary>
    public void Count(bool clientToBackend, int bytes)
    {
        if (clientToBackend)
        {
            Interlocked.Add(ref Counters.BytesSent, bytes);
        }
        else
        {
            Interlocked.Add(ref Counters.BytesReceived, bytes);
        }
    }

    /// <summary>Closes both sockets at once (error, idle timeout, engine stop); pending I/O fails and the pumps end.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref aborted, 1) != 0)
        {
            return;
        }

        // Shut down before closing: closing a socket with a receive pending would reset the
        // connection, and a peer that merely idled deserves an orderly end of stream.
        Client.ShutdownAndClose();
        Volatile.Read(ref backend)?.ShutdownAndClose();

        // Sockets that only the epoll loop waits on leave its set when they close, without an
        // event: the waits end here instead.
        Volatile.Read(ref clientIo)?.Abort();
        Volatile.Read(ref backendIo)?.Abort();
    }

    /// <summary>True once one relay direction has called <see cref="PumpEnded"/>.</summary>
    public bool OtherDirectionEnded => Volatile.Read(ref pumpsLeft) == 1;

    /// <summary>Called by each relay direction when it is done; the second one ends the session.</summary>
    public void PumpEnded()
    {
        if (Interlocked.Decrement(ref pumpsLeft) == 0)
        {
            Finish();
        }
    }

    public void Finish()
    {
        if (Interlocked.Exchange(ref finished, 1) != 0)
        {
            return;
        }

        // Free the loop slots before the close, so that no later event can reach them.
        if (context.Loop is { } loop)
        {
            if (Volatile.Read(ref clientIo) is { } c)
            {
                loop.Unregister(c);
            }

            if (Volatile.Read(ref backendIo) is { } b)
            {
                loop.Unregister(b);
            }
        }

        Client.Dispose();
        Volatile.Read(ref backend)?.Dispose();
        ReleaseSlot();
        context.Sessions.Remove(this);

        // Both directions and the connect are over: no operation is in flight any more.
        upstream?.Dispose();
        downstream?.Dispose();
    }
}
