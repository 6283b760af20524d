using System.Buffers;
using System.Net.Sockets;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// Copies bytes both ways between a client and its back-end, one async loop per direction.
/// Each loop first waits with a zero-byte receive, so an idle session holds no buffer; only when
/// data is there does it rent a pooled buffer, read what is there, send all of it and give the
/// buffer back (it keeps it while reads fill it completely, i.e. during bulk transfers). The loops
/// allocate nothing per read and take no lock. End of stream on one side shuts down sending on
/// the other and the other direction keeps flowing (half-close, which the original lost); an
/// error on either side closes both. Two non-blocking reads skip a wait where data or an end of
/// stream is most likely there already: the client's first request, and the end of stream right
/// after the back-end's first reply. On the epoll loop a direction that fills two reads in a row
/// is a bulk transfer and moves on through a pipe (<see cref="SpliceRelay"/>) until its source
/// pauses or ends; a direction that finds no pipe free keeps copying.
/// </summary>
internal sealed class Relay
{
    /// <summary>Bytes per read; the original used 32 KiB.</summary>
    public const int BufferSize = 32 * 1024;

    /// <summary>
    /// Full buffers relayed in a row before a direction lets others run. Continuations run on the
    /// socket engine's thread (<see cref="SocketRuntimeTuning"/>), and while data keeps arriving a
    /// direction never waits, so without this one bulk stream would hold that thread (2 MiB here).
    /// </summary>
    private const int FullReadsBeforeYield = 64;

    /// <summary>
    /// Full buffers in a row after which a direction on the loop moves on to splicing
    /// (<see cref="SpliceRelay"/>): a transfer that fills two reads is a bulk one, and a
    /// request or a reply that fits one never rents a pipe.
    /// </summary>
    private const int FullReadsBeforeSplice = 2;

    private readonly EngineContext context;

    public Relay(EngineContext context)
    {
        this.context = context;
    }

    /// <summary>Starts both directions of a connected session.</summary>
    public void Start(Session session)
    {
        if (context.Loop is { } loop && !AttachClient(loop, session))
        {
            session.Abort();
            session.Finish();
            return;
        }

        session.StartRelaying();

        // Both directions start right here: each runs until its first receive that has to wait,
        // which for the back-end side is at once (it has not been sent anything yet), and a long
        // synchronous run is cut by the yield in the loop. Posting one of them to the thread pool
        // instead cost a worker wake-up and two futex calls per connection.
        _ = PumpAsync(session, clientToBackend: false);
        _ = PumpAsync(session, clientToBackend: true);
    }

    /// <summary>Puts the client socket in the epoll loop; false when the session cannot relay.</summary>
    private bool AttachClient(EpollLoop loop, Session session)
    {
        try
        {
            return session.AttachClientIo(loop.Register(session.Client.Handle));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            context.Publish(EngineEventKind.Error, session.Group, session.Channel, "epoll loop: " + e.Message);
            return false;
        }
    }

    public async Task PumpAsync(Session session, bool clientToBackend)
    {
        var from = clientToBackend ? session.Client : session.Backend!;
        var to = clientToBackend ? session.Backend! : session.Client;

        // With the engine's epoll loop the waits are its readiness signals, which cost no system
        // call, and reads and sends are direct calls (NonBlockingIo); without it they are the
        // runtime's asynchronous operations.
        var readable = (clientToBackend ? session.ClientIo : session.BackendIo)?.Readable;
        var writable = (clientToBackend ? session.BackendIo : session.ClientIo)?.Writable;
        var direct = readable is not null;
        var operation = direct ? null : clientToBackend ? session.Upstream : session.Downstream;

        // The runtime's sockets, for its operations; null on the loop, which needs only descriptors.
        var fromSocket = direct ? null : from.Runtime;
        var toSocket = direct ? null : to.Runtime;

        var dump = context.Dump;

        // Splicing needs descriptors that are non-blocking themselves (a splice from a socket
        // waits on a blocking one whatever its flags say) and no packet dump, which needs the bytes.
        var pipes = direct && dump is null && from is DescriptorSocket && to is DescriptorSocket ? context.Pipes : null;
        byte[]? buffer = null;
        var fullReads = 0;
        var failed = false;

        // A client's first bytes have usually arrived while the back-end connect was in flight:
        // then one non-blocking read takes them, where a zero-byte wait would find them there and
        // still cost a system call of its own. Only when nothing is there yet does it wait.
        var readNow = clientToBackend;

        // In connection-per-request traffic the back-end's first reply is also its last, and its
        // FIN is already there when the reply is read. One non-blocking read right after the
        // reply finds it, and then reply and FIN leave in one segment (FinalSegment) instead of
        // a reply, a wasted wait and a separate FIN. A longer-lived connection pays for this once.
        var probeEnd = !clientToBackend;

        // TCP urgent data was reported and this direction has not read its queue empty since:
        // a short read may have stopped at the urgent mark, with bytes queued behind it for
        // which no edge will come. Taken from the readiness before each read, dropped when a
        // read finds nothing, so it costs a read or a few that find nothing per urgent message.
        var urgent = false;

        // The back-end socket's held ACKs, settled by the client's first bytes and the
        // back-end's first reply (HeldAck); the connector decides whether there are any.
        var heldAck = session.BackendAck;
        var firstClientBytes = clientToBackend && heldAck is not null;
        try
        {
            // Without the loop, the reads and sends that need no wait are the runtime's own
            // non-blocking calls. The runtime made the back-end socket non-blocking for its
            // connect, so for it this costs no system call; for the client it is the fcntl the
            // first asynchronous operation would make anyway.
            if (!direct)
            {
                fromSocket!.Blocking = false;
                toSocket!.Blocking = false;
            }

            while (true)
            {
                int read;
                if (buffer is null)
                {
                    // On the loop, once the peer's FIN is known the read goes ahead: no edge
                    // will come for it again.
                    if (!readNow && readable?.HasEnded != true && await (operation is not null
                            ? operation.ReceiveAsync(fromSocket!, Memory<byte>.Empty)
                            : readable!.WaitAsync()).ConfigureAwait(false) < 0)
                    {
                        failed = true;
                        break;
                    }

                    // After the wait the data is there: a plain non-blocking read takes it with
                    // less of the runtime's machinery than an asynchronous receive would.
                    // Nothing there (no first request yet, or a wake-up left over from bytes an
                    // earlier read already took): back to a wait that holds no buffer. That wait
                    // ends only on a new readiness event, so this cannot spin.
                    readNow = false;
                    buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                    readable?.Clear();
                    urgent |= readable?.TakeUrgent() == true;
                    read = ReceiveNow(from, fromSocket, buffer, urgent);
                    if (read == SocketOperation.WouldBlock)
                    {
                        if (firstClientBytes)
                        {
                            heldAck!.ClientHasSentNothing();
                        }

                        urgent = false;
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null;
                        if (readable?.HasEnded == true)
                        {
                            break; // ended, yet nothing to read: nothing ever will be
                        }

                        continue;
                    }
                }
                else if (operation is not null)
                {
                    // Reads keep filling the buffer (a bulk transfer): the next one rarely waits.
                    read = await operation.ReceiveAsync(fromSocket!, buffer).ConfigureAwait(false);
                }
                else
                {
                    readable!.Clear();
                    urgent |= readable.TakeUrgent();
                    read = ReceiveNow(from, null, buffer, urgent);
                    while (read == SocketOperation.WouldBlock)
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
                            readable.Clear();
                            urgent |= readable.TakeUrgent();
                            read = ReceiveNow(from, null, buffer, urgent);
                        }
                    }
                }

                if (read < 0)
                {
                    failed = true;
                    break;
                }

                if (dump is not null)
                {
                    PacketDump.Write(dump, clientToBackend, buffer.AsSpan(0, read));
                }

                if (read == 0)
                {
                    break;
                }

                var sourceEnded = false;
                var probeFailed = false;
                if (probeEnd)
                {
                    probeEnd = false;
                    if (read < buffer.Length)
                    {
                        var more = ReceiveNow(from, fromSocket, buffer.AsSpan(read));
                        if (more >= 0 && dump is not null)
                        {
                            PacketDump.Write(dump, clientToBackend, buffer.AsSpan(read, more));
                        }

                        sourceEnded = more == 0;
                        probeFailed = more < 0 && more != SocketOperation.WouldBlock;
                        read += Math.Max(more, 0);
                    }

                    heldAck?.FirstReply(sourceEnded);
                }

                session.Touch();
                if (firstClientBytes)
                {
                    firstClientBytes = false;
                    heldAck!.ClientBytesSent();
                }

                // Most sends complete at once; only what the socket did not take is sent
                // asynchronously (it then waits until the peer makes room).
                var sent = direct
                    ? NonBlockingIo.Send(to.Handle, buffer.AsSpan(0, read), more: sourceEnded)
                    : sourceEnded
                        ? FinalSegment.Send(toSocket!, buffer.AsSpan(0, read))
                        : SocketOperation.SendNow(toSocket!, buffer.AsSpan(0, read));
                failed = sent < 0;
                while (!failed && sent < read)
                {
                    int n;
                    if (operation is not null)
                    {
                        n = await operation.SendAsync(toSocket!, buffer.AsMemory(sent, read - sent)).ConfigureAwait(false);
                    }
                    else
                    {
                        // The socket took part of it: wait until it has room, then send directly.
                        // Cleared before the send, so an edge after its "full" is never missed.
                        n = await writable!.WaitAsync().ConfigureAwait(false);
                        if (n == 0)
                        {
                            writable.Clear();
                            n = NonBlockingIo.Send(to.Handle, buffer.AsSpan(sent, read - sent), more: false);
                            if (n == 0)
                            {
                                continue;
                            }
                        }
                    }

                    if (n <= 0)
                    {
                        failed = true;
                        break;
                    }

                    sent += n;
                }

                if (failed)
                {
                    break;
                }

                session.Count(clientToBackend, read);

                // The bytes read before a failed probe went out first, as they would have
                // without the probe; its error then ends the session as any receive error does.
                if (sourceEnded || probeFailed)
                {
                    failed = probeFailed;
                    break;
                }

                if (read < buffer.Length)
                {
                    operation?.ClearBuffer();
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                    fullReads = 0;

                    // A read stops short at TCP urgent data even with bytes queued behind it,
                    // and no edge would come for them: then read on instead of waiting.
                    readNow = urgent;
                }
                else if (++fullReads == FullReadsBeforeSplice || fullReads % FullReadsBeforeYield == 0)
                {
                    if (pipes?.Rent() is { } pipe)
                    {
                        // A bulk transfer: on through a pipe, without copying, until a splice
                        // finds nothing more; then on as below, to a wait that holds neither
                        // buffer nor pipe, or a read where one must come first (an end of
                        // stream seen, urgent data, a refused splice).
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null;
                        fullReads = 0;
                        var outcome = await SpliceRelay.RunAsync(context.Loop!, session, from.Handle, to.Handle, readable!, writable!, pipes, pipe, clientToBackend).ConfigureAwait(false);
                        if (outcome == SpliceOutcome.Failed)
                        {
                            failed = true;
                            break;
                        }

                        if (outcome == SpliceOutcome.Unsupported)
                        {
                            pipes = null;
                        }

                        // A splice stops at TCP urgent data and reports nothing there, where a
                        // read goes on past it, and no edge would come for the bytes behind it:
                        // one read then, before the next wait. A refused splice took nothing,
                        // after two full reads: the bytes are very likely there.
                        urgent |= readable!.TakeUrgent();
                        readNow = urgent || outcome == SpliceOutcome.Unsupported;
                    }
                    else if (fullReads % FullReadsBeforeYield == 0)
                    {
                        if (direct)
                        {
                            await context.Loop!.Yield();
                        }
                        else
                        {
                            await Task.Yield();
                        }
                    }
                }
            }

            // Once the other direction is over too, Finish closes both sockets right after this,
            // and that close sends the same FIN, so the shutdown would be a wasted system call.
            if (!failed && !session.OtherDirectionEnded)
            {
                to.ShutdownSend();
            }
        }
        catch (SocketException)
        {
            failed = true;
        }
        catch (ObjectDisposedException)
        {
            failed = true;
        }
        finally
        {
            if (buffer is not null)
            {
                operation?.ClearBuffer();
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (failed)
            {
                session.Abort();
            }

            session.PumpEnded();
        }
    }

    /// <summary>
    /// One non-blocking read, tried again when it finds nothing while urgent data was reported:
    /// at the urgent mark a read also finds nothing while a signal is pending for the thread
    /// (delivered by the time the call returns), and what finds nothing there decides between a
    /// wait that no edge would end and, with the FIN in, an end that loses the bytes after the
    /// mark. A few tries, in case signals keep coming.
    /// </summary>
    private static int ReceiveNow(ISessionSocket from, Socket? fromSocket, Span<byte> buffer, bool urgent)
    {
        var read = ReceiveNow(from, fromSocket, buffer);
        for (var retry = 0; urgent && read == SocketOperation.WouldBlock && retry < 3; retry++)
        {
            read = ReceiveNow(from, fromSocket, buffer);
        }

        return read;
    }

    /// <summary>One non-blocking read: direct on the loop (no runtime socket), else the runtime's.</summary>
    private static int ReceiveNow(ISessionSocket from, Socket? fromSocket, Span<byte> buffer) =>
        fromSocket is null ? NonBlockingIo.Receive(from.Handle, buffer) : SocketOperation.ReceiveNow(fromSocket, buffer);
}
