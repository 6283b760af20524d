using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Balance.Proxy;

namespace Balance.Transport.Epoll;

/// <summary>
/// One relay direction on the epoll loop. The waits are the loop's readiness signals, which cost
/// no system call; reads and sends are direct non-blocking calls (<see cref="NonBlockingIo"/>).
/// An idle direction holds no buffer: it waits, then rents one and reads what is there. Two reads
/// skip a wait where data or an end is most likely there already: the client's first request,
/// and the end of stream right after the back-end's first reply, which then leaves with the
/// reply in one segment. A direction that fills two reads in a row is a bulk transfer and moves
/// on through a pipe (<see cref="SpliceRelay"/>) until its source pauses. End of stream shuts down
/// sending on the other side (half-close); an error closes both. Allocates nothing per read.
/// The steady state (an edge, one short read, all of it sent) is a step the loop runs while the
/// direction still waits (<see cref="TryStep"/>), so most messages never resume this method.
/// </summary>
internal sealed class EpollPump : IReadyStep
{
    /// <summary>Full reads in a row after which a transfer counts as bulk and splices: a request or reply that fits one never rents a pipe.</summary>
    private const int FullReadsBeforeSplice = 2;

    private readonly EpollLoop loop;
    private readonly Session session;
    private readonly DescriptorSocket from;
    private readonly DescriptorSocket to;
    private readonly Readiness readable;
    private readonly Readiness writable;
    private readonly TextWriter? dump;
    private readonly HeldAck? heldAck;
    private readonly bool clientToBackend;
    private PipePool? pipes;
    private byte[]? buffer;
    private int fullReads;

    // Reading goes ahead without a wait: the client's first bytes have usually arrived while the
    // back-end connect was in flight, and after urgent data no edge comes for the bytes behind it.
    private bool readNow;

    // TCP urgent data was reported and this direction has not read its queue empty since (see Readiness).
    private bool urgent;

    // The back-end's held ACKs wait for the client's first bytes (HeldAck).
    private bool firstClientBytes;

    // The back-end's first reply is read on to its FIN (ProbeEnd).
    private bool probeEnd;

    // A step read what it could not finish: the wait that ends next returns it (see TryStep).
    private bool handed;
    private int handedRead;

    public EpollPump(EpollLoop loop, Session session, DescriptorSocket from, DescriptorSocket to, PipePool? pipes, TextWriter? dump, HeldAck? heldAck, bool clientToBackend)
    {
        this.loop = loop;
        this.session = session;
        this.from = from;
        this.to = to;
        readable = from.Registration!.Readable;
        writable = to.Registration!.Writable;
        this.pipes = pipes;
        this.dump = dump;
        this.heldAck = heldAck;
        this.clientToBackend = clientToBackend;
        readNow = clientToBackend;
        firstClientBytes = clientToBackend && heldAck is not null;
        probeEnd = !clientToBackend;
    }

    public async Task RunAsync()
    {
        var failed = false;
        try
        {
            while (true)
            {
                var read = await ReadAsync().ConfigureAwait(false);
                if (read == NothingYet)
                {
                    continue;
                }

                if (read <= 0)
                {
                    failed = read < 0;
                    break;
                }

                // Reply and FIN in one segment (connection-per-request traffic): see ProbeEnd.
                var (ended, probeError) = probeEnd ? ProbeEnd(ref read) : (false, false);
                probeEnd = false;
                session.Touch();
                if (firstClientBytes)
                {
                    firstClientBytes = false;
                    heldAck!.ClientBytesSent();
                }

                if (!await SendAsync(read, ended).ConfigureAwait(false))
                {
                    failed = true;
                    break;
                }

                session.Count(clientToBackend, read);
                if (ended || probeError)
                {
                    // The bytes read before a failed probe went out first, as without the probe.
                    failed = probeError;
                    break;
                }

                if (!await AfterSendAsync(read).ConfigureAwait(false))
                {
                    failed = true;
                    break;
                }
            }

            // Once the other direction is over too, Finish closes both sockets right after this,
            // and that close sends the same FIN, so the shutdown would be a wasted system call.
            if (!failed && !session.OtherDirectionEnded)
            {
                to.ShutdownSend();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            failed = true;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }

            if (failed)
            {
                session.Abort();
            }

            session.PumpEnded();
        }
    }

    /// <summary>A read found nothing and gave its buffer back: the next round waits again.</summary>
    private const int NothingYet = int.MinValue;

    /// <summary>
    /// The next read: bytes in the buffer, 0 at the end, a negated <see cref="SocketError"/>, or
    /// <see cref="NothingYet"/>. Without a buffer it waits first and rents one only when data is
    /// there; with one (a bulk transfer) it reads on and waits only when nothing is there.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadAsync()
    {
        int read;
        if (buffer is null)
        {
            // Once the peer's FIN is known the read goes ahead: no edge will come for it again.
            var step = dump is null && !firstClientBytes && !probeEnd ? this : null;
            if (!readNow && !readable.HasEnded && await readable.WaitAsync(step).ConfigureAwait(false) < 0)
            {
                return -(int)SocketError.OperationAborted;
            }

            if (handed)
            {
                handed = false;
                return handedRead;
            }

            readNow = false;
            buffer = ArrayPool<byte>.Shared.Rent(RelayLimits.BufferSize);
            read = ReceiveNow(buffer);
            if (read == NonBlockingIo.WouldBlock)
            {
                // No first request yet, or a wake-up left over from bytes an earlier read took:
                // back to a wait that holds no buffer, which only a new edge ends.
                if (firstClientBytes)
                {
                    heldAck!.ClientHasSentNothing();
                }

                urgent = false;
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
                return readable.HasEnded ? 0 : NothingYet;
            }
        }
        else
        {
            read = ReceiveNow(buffer);
            while (read == NonBlockingIo.WouldBlock)
            {
                urgent = false;
                if (readable.HasEnded)
                {
                    read = 0;
                    break;
                }

                read = await readable.WaitAsync().ConfigureAwait(false);
                if (read == 0)
                {
                    read = ReceiveNow(buffer);
                }
            }
        }

        if (read >= 0 && dump is not null)
        {
            PacketDump.Write(dump, clientToBackend, buffer.AsSpan(0, read));
        }

        return read;
    }

    /// <summary>
    /// One message relayed on the loop thread while the direction waits with no buffer: one read
    /// into the loop's buffer and one send of all of it. Whatever is not that (the end, urgent
    /// data, an error, a full read that may be bulk, a send that takes only part) ends the wait
    /// with what was read handed over in a buffer of the direction's own, to go on as before.
    /// </summary>
    public bool TryStep()
    {
        if (readable.HasEnded || readable.HasUrgent)
        {
            return false;
        }

        var scratch = loop.StepBuffer;
        var read = NonBlockingIo.Receive(from, scratch);
        if (read == NonBlockingIo.WouldBlock)
        {
            return true; // an edge whose bytes an earlier read took
        }

        var sent = read > 0 && read < scratch.Length ? NonBlockingIo.Send(to, scratch.AsSpan(0, read), more: false) : 0;
        if (sent > 0)
        {
            session.Touch();
            session.Count(clientToBackend, sent);
        }

        if (sent == read && read > 0)
        {
            return true;
        }

        // The direction takes on from here: a read result as is, or the bytes left to send.
        handed = true;
        handedRead = sent < 0 ? sent : read - sent;
        if (handedRead > 0)
        {
            buffer = ArrayPool<byte>.Shared.Rent(RelayLimits.BufferSize);
            scratch.AsSpan(sent, handedRead).CopyTo(buffer);
        }

        return false;
    }

    /// <summary>
    /// In connection-per-request traffic the back-end's first reply is also its last, and its FIN
    /// is already there when the reply is read: one more read finds it, and the reply then leaves
    /// with the engine's FIN. Returns whether the source ended and whether the probe failed.
    /// </summary>
    private (bool Ended, bool Failed) ProbeEnd(ref int read)
    {
        var ended = false;
        var failed = false;
        if (read < buffer!.Length)
        {
            var more = NonBlockingIo.Receive(from, buffer.AsSpan(read));
            if (more >= 0 && dump is not null)
            {
                PacketDump.Write(dump, clientToBackend, buffer.AsSpan(read, more));
            }

            ended = more == 0;
            failed = more < 0 && more != NonBlockingIo.WouldBlock;
            read += Math.Max(more, 0);
        }

        heldAck?.FirstReply(ended);
        return (ended, failed);
    }

    /// <summary>Sends the buffer's first <paramref name="count"/> bytes, waiting for room when the socket takes only part.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendAsync(int count, bool last)
    {
        var sent = NonBlockingIo.Send(to, buffer.AsSpan(0, count), more: last);
        while (sent >= 0 && sent < count)
        {
            // Cleared before the send, so an edge after its "full" is never missed.
            if (await writable.WaitAsync().ConfigureAwait(false) < 0)
            {
                return false;
            }

            writable.Clear();
            var n = NonBlockingIo.Send(to, buffer.AsSpan(sent, count - sent), more: false);
            if (n < 0)
            {
                return false;
            }

            sent += n;
        }

        return sent >= 0;
    }

    /// <summary>
    /// After a short read the buffer goes back; after full ones the transfer is bulk and splices,
    /// or lets other sessions run now and then. False when the splice failed.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AfterSendAsync(int read)
    {
        if (read < buffer!.Length)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
            fullReads = 0;

            // A read stops short at TCP urgent data even with bytes queued behind it: read on.
            readNow = urgent;
            return true;
        }

        if (++fullReads != FullReadsBeforeSplice && fullReads % RelayLimits.FullReadsBeforeYield != 0)
        {
            return true;
        }

        if (pipes?.Rent() is not { } pipe)
        {
            if (fullReads % RelayLimits.FullReadsBeforeYield == 0)
            {
                await loop.Yield();
            }

            return true;
        }

        // On through a pipe, without copying, until a splice finds nothing more; then to a wait
        // that holds neither buffer nor pipe, or a read where one must come first.
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = null;
        fullReads = 0;
        var outcome = await SpliceRelay.RunAsync(loop, session, from, to, readable, writable, pipes, pipe, clientToBackend).ConfigureAwait(false);
        if (outcome == SpliceOutcome.Unsupported)
        {
            pipes = null;
        }

        // A splice stops at TCP urgent data and reports nothing there, and no edge comes for
        // the bytes behind it; a refused splice took nothing after two full reads.
        urgent |= readable.TakeUrgent();
        readNow = urgent || outcome == SpliceOutcome.Unsupported;
        return outcome != SpliceOutcome.Failed;
    }

    /// <summary>
    /// One non-blocking read after clearing the kept signal, tried again when it finds nothing
    /// while urgent data was reported: at the urgent mark a read also finds nothing while a
    /// signal is pending for the thread, and that must not pass for an empty queue.
    /// </summary>
    private int ReceiveNow(Span<byte> into)
    {
        readable.Clear();
        urgent |= readable.TakeUrgent();
        var read = NonBlockingIo.Receive(from, into);
        for (var retry = 0; urgent && read == NonBlockingIo.WouldBlock && retry < 3; retry++)
        {
            read = NonBlockingIo.Receive(from, into);
        }

        return read;
    }
}
