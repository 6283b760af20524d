using System.Diagnostics;
using System.Runtime.InteropServices;
using Balance.Interop;

namespace Balance.Transport.Epoll;

/// <summary>
/// Holds back a back-end socket's ACKs so that they leave with data the engine sends anyway
/// (haproxy's <c>option tcp-smart-connect</c>, off by default there in TCP mode): the
/// handshake's last ACK with the client's first bytes, and the ACK of a first reply that ends
/// the back-end with the engine's own FIN. The socket connects in delayed-ACK mode
/// (<c>TCP_QUICKACK</c> 0); it is released (<c>TCP_QUICKACK</c> 1, which sends a held ACK at
/// once) wherever waiting could cost the back-end time, after the loop has looked for events
/// <see cref="RoundsBeforeRelease"/> times or <see cref="MaxWaitMs"/> has passed, whichever
/// comes first, so that bytes or a FIN a moment behind still count (on a busy loop, whose rounds
/// take long enough for them; an idle loop's rounds pass in microseconds):
/// when the client has sent nothing (a protocol where the server speaks first sees the
/// connection only once the ACK comes, else when the 200 ms delayed-ACK timer fires), and when
/// the first reply has not ended the back-end (a back-end that writes a reply in two parts under
/// Nagle's algorithm waits for that ACK, else 40 ms or more). In connection-per-request traffic
/// that saves each connection up to two loopback segments, whose work falls on the proxy's core,
/// for one <c>setsockopt</c>; a release costs a second one. One per connect attempt on the
/// engine's loop. Calls come from the loop thread, and once the loop has stopped from the pool
/// (where posted rounds then run), hence the interlocked state.
/// </summary>
internal sealed unsafe class HeldAck
{
    /// <summary>
    /// Looks for events the loop makes before a held ACK is released. A busy loop's rounds take
    /// long enough for a client's first bytes to come in most of them: with 2, half the
    /// handshake ACKs of a connection-per-request load went alone, with 8 about one in five.
    /// </summary>
    private const int RoundsBeforeRelease = 8;

    /// <summary>The longest a held ACK waits once a release is due, however slow the rounds.</summary>
    private const double MaxWaitMs = 1;

    // -1: not known yet whether the ACK can travel with data; 0: settled; n > 0: rounds left.
    private const int Pending = -1;

    private static readonly Action<object?> HandshakeRound = static state => ((HeldAck)state!).RunHandshakeRound();
    private static readonly Action<object?> ReplyRound = static state => ((HeldAck)state!).RunReplyRound();

    private readonly DescriptorSocket socket;
    private readonly EpollLoop loop;
    private int handshake = Pending;
    private int reply = Pending;
    private long handshakeSince;
    private long replySince;

    private HeldAck(DescriptorSocket socket, EpollLoop loop)
    {
        this.socket = socket;
        this.loop = loop;
    }

    /// <summary>Puts <paramref name="socket"/>, not yet connecting, in delayed-ACK mode; null when the kernel refused it.</summary>
    public static HeldAck? Hold(DescriptorSocket socket, EpollLoop loop) =>
        SetQuickAck(socket, 0) ? new HeldAck(socket, loop) : null;

    /// <summary>The client's first read found nothing: the handshake ACK goes soon, unless its bytes come first.</summary>
    public void ClientHasSentNothing() => Start(ref handshake, ref handshakeSince, HandshakeRound);

    /// <summary>The client's first bytes are being sent: the handshake ACK goes with them.</summary>
    public void ClientBytesSent() => Volatile.Write(ref handshake, 0);

    /// <summary>
    /// The back-end's first reply has been read, with its end (<paramref name="ended"/>: the ACK
    /// goes with the engine's FIN) or without (released soon, unless the end comes first).
    /// </summary>
    public void FirstReply(bool ended)
    {
        if (ended)
        {
            Volatile.Write(ref reply, 0);
        }
        else
        {
            Start(ref reply, ref replySince, ReplyRound);
        }
    }

    private static bool SetQuickAck(SafeHandle socket, int value) =>
        Libc.SetOption(socket, Libc.ProtocolTcp, Libc.TcpQuickAck, &value, sizeof(int)) >= 0;

    private void Start(ref int rounds, ref long since, Action<object?> round)
    {
        if (Volatile.Read(ref rounds) == Pending)
        {
            since = Stopwatch.GetTimestamp();
            if (Interlocked.CompareExchange(ref rounds, RoundsBeforeRelease, Pending) == Pending)
            {
                loop.Post(round, this);
            }
        }
    }

    private void RunHandshakeRound() => RunRound(ref handshake, handshakeSince, HandshakeRound, settled: false);

    private void RunReplyRound() => RunRound(ref reply, replySince, ReplyRound, settled: socket.Registration?.Readable.HasEnded == true);

    /// <summary>One look for events has passed: the ACK was settled meanwhile, waits another round, or goes now.</summary>
    private void RunRound(ref int rounds, long since, Action<object?> round, bool settled)
    {
        var left = Volatile.Read(ref rounds);
        if (left <= 0)
        {
            return;
        }

        if (settled || socket.IsClosed)
        {
            // The back-end ended (the ACK goes with a FIN) or the attempt is over.
            Volatile.Write(ref rounds, 0);
            return;
        }

        if (left > 1 && Stopwatch.GetElapsedTime(since).TotalMilliseconds < MaxWaitMs)
        {
            if (Interlocked.CompareExchange(ref rounds, left - 1, left) == left)
            {
                loop.Post(round, this);
            }

            return;
        }

        if (Interlocked.CompareExchange(ref rounds, 0, left) != left)
        {
            return;
        }

        try
        {
            _ = SetQuickAck(socket, 1);
        }
        catch (ObjectDisposedException)
        {
            // Closed by an abort meanwhile: nothing left to acknowledge.
        }
    }
}
