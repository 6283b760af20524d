using System.Net;
using Balance.Control;
using Balance.Policies;
using Balance.Transport;

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
    private long connectState = Connected;
    private long connectDeadline;
    private long lastActivity;
    private int reserved;
    private int aborted;
    private int pumpsLeft = 2;
    private int finished;
    private int relaying;

    /// <param name="context">The worker's shared pieces.</param>
    /// <param name="client">The accepted client's socket.</param>
    /// <param name="remote">The client's address.</param>
    /// <param name="clientHash">The original's hash of the client address (<c>%</c> groups).</param>
    /// <param name="clientKey">The mixed key of the client address (Maglev groups).</param>
    public Session(EngineContext context, ISessionSocket client, IPEndPoint remote, uint clientHash, ulong clientKey)
    {
        this.context = context;
        Client = client;
        Remote = remote;
        ClientHash = clientHash;
        ClientKey = clientKey;
    }

    public ISessionSocket Client { get; }

    /// <summary>The current attempt's back-end socket; null before the first.</summary>
    public ISessionSocket? Backend => Volatile.Read(ref backend);

    public IPEndPoint Remote { get; }

    public uint ClientHash { get; }

    /// <summary>Kept for the re-select after a failed connect, so the next group's Maglev sees the same key.</summary>
    public ulong ClientKey { get; }

    public int Group { get; private set; } = -1;

    public int Channel { get; private set; } = -1;

    /// <summary>Index in the <see cref="SessionTable"/>; -1 when not registered.</summary>
    public int Slot { get; set; } = -1;

    public bool IsAborted => Volatile.Read(ref aborted) != 0;

    public bool IsRelaying => Volatile.Read(ref relaying) != 0;

    public ref ChannelRecord ChannelRecord => ref context.Segment.Record(Group, Channel);

    /// <summary>The channel's close request count when the session took its slot (see <see cref="SessionCloser"/>).</summary>
    public int CloseMark { get; private set; }

    /// <summary>Takes ownership of a slot the selector reserved.</summary>
    public void Assign(ChannelChoice choice)
    {
        Group = choice.Group;
        Channel = choice.Channel;
        CloseMark = Volatile.Read(ref context.Segment.Record(choice.Group, choice.Channel).CloseRequest);
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
            // The close ends the connect's wait; the connector disposes the socket once it returns.
            context.ConnectEnded();
            socket?.ShutdownAndClose();
        }
    }

    /// <summary>
    /// True while attempt <paramref name="token"/> is still the session's live connect: a transport
    /// asks after publishing what an abort or a timeout would have to end, since either may have
    /// run before and missed it.
    /// </summary>
    public bool IsAttemptCurrent(long token) => !IsAborted && Volatile.Read(ref connectState) == token + Connecting;

    public bool IsIdle(long now, long idleMs) => IsRelaying && now - Volatile.Read(ref lastActivity) >= idleMs;

    public void Touch() => Volatile.Write(ref lastActivity, Environment.TickCount64);

    public void StartRelaying()
    {
        Touch();
        Volatile.Write(ref relaying, 1);
    }

    /// <summary>Adds relayed bytes to the channel's counters: sent to the back-end, or received from it.</summary>
    public void Count(bool clientToBackend, int bytes) => context.Counters.Relayed(clientToBackend, Group, Channel, bytes);

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

        // Both directions and the connect are over: nothing is in flight on the sockets any more.
        Client.Dispose();
        Volatile.Read(ref backend)?.Dispose();
        ReleaseSlot();
        context.Sessions.Remove(this);
    }
}
