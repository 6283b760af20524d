using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Balance.Proxy;

namespace Balance.Transport.Sockets;

/// <summary>
/// One relay direction on the runtime's sockets. An idle direction holds no buffer: it waits with
/// a zero-byte receive, then rents a pooled buffer and takes what is there with a plain
/// non-blocking read; it keeps the buffer while reads fill it (a bulk transfer). Most sends
/// complete at once; only what the socket did not take is sent asynchronously. The client's
/// first request is read without a wait, and the back-end's first reply is followed by one more
/// read that usually finds its end, so reply and FIN leave in one segment (<see cref="FinalSegment"/>).
/// End of stream shuts down sending on the other side (half-close); an error closes both.
/// Allocates nothing per read and takes no lock.
/// </summary>
internal sealed class SocketsPump
{
    private readonly Session session;
    private readonly Socket from;
    private readonly Socket to;
    private readonly SocketOperation operation;
    private readonly TextWriter? dump;
    private readonly bool clientToBackend;

    public SocketsPump(Session session, RuntimeSocket from, RuntimeSocket to, TextWriter? dump, bool clientToBackend)
    {
        this.session = session;
        this.from = from.Socket;
        this.to = to.Socket;
        operation = from.Operation;
        this.dump = dump;
        this.clientToBackend = clientToBackend;
    }

    public async Task RunAsync()
    {
        byte[]? buffer = null;
        var fullReads = 0;
        var failed = false;
        var readNow = clientToBackend;
        var probeEnd = !clientToBackend;
        try
        {
            // Reads and sends that need no wait are the runtime's own non-blocking calls. The
            // back-end socket is non-blocking since its connect; for the client this is the
            // fcntl the first asynchronous operation would make anyway.
            from.Blocking = false;
            to.Blocking = false;
            while (true)
            {
                int read;
                if (buffer is null)
                {
                    if (!readNow && await operation.ReceiveAsync(from, Memory<byte>.Empty).ConfigureAwait(false) < 0)
                    {
                        failed = true;
                        break;
                    }

                    // Nothing there (no first request yet, or a wake-up whose bytes an earlier
                    // read took): back to a wait that holds no buffer.
                    readNow = false;
                    buffer = ArrayPool<byte>.Shared.Rent(RelayLimits.BufferSize);
                    read = SocketOperation.ReceiveNow(from, buffer);
                    if (read == SocketOperation.WouldBlock)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null;
                        continue;
                    }
                }
                else
                {
                    read = await operation.ReceiveAsync(from, buffer).ConfigureAwait(false);
                }

                if (read < 0)
                {
                    failed = true;
                    break;
                }

                Dump(buffer.AsSpan(0, read));
                if (read == 0)
                {
                    break;
                }

                var (ended, probeFailed) = probeEnd ? ProbeEnd(buffer, ref read) : (false, false);
                probeEnd = false;
                session.Touch();
                if (!await SendAsync(buffer, read, ended).ConfigureAwait(false))
                {
                    failed = true;
                    break;
                }

                session.Count(clientToBackend, read);
                if (ended || probeFailed)
                {
                    // The bytes read before a failed probe went out first, as without the probe.
                    failed = probeFailed;
                    break;
                }

                if (read < buffer.Length)
                {
                    operation.ClearBuffer();
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                    fullReads = 0;
                }
                else if (++fullReads % RelayLimits.FullReadsBeforeYield == 0)
                {
                    await Task.Yield();
                }
            }

            // Once the other direction is over too, Finish closes both sockets right after this,
            // and that close sends the same FIN, so the shutdown would be a wasted system call.
            if (!failed && !session.OtherDirectionEnded)
            {
                to.Shutdown(SocketShutdown.Send);
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
                operation.ClearBuffer();
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (failed)
            {
                session.Abort();
            }

            session.PumpEnded();
        }
    }

    /// <summary>One more read right after the back-end's first reply: its end is usually there already.</summary>
    private (bool Ended, bool Failed) ProbeEnd(byte[] buffer, ref int read)
    {
        if (read >= buffer.Length)
        {
            return (false, false);
        }

        var more = SocketOperation.ReceiveNow(from, buffer.AsSpan(read));
        if (more >= 0)
        {
            Dump(buffer.AsSpan(read, more));
        }

        read += Math.Max(more, 0);
        return (more == 0, more < 0 && more != SocketOperation.WouldBlock);
    }

    /// <summary>Sends the buffer's first <paramref name="count"/> bytes; the last ones of an ended source go with its FIN.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendAsync(byte[] buffer, int count, bool last)
    {
        var sent = last ? FinalSegment.Send(to, buffer.AsSpan(0, count)) : SocketOperation.SendNow(to, buffer.AsSpan(0, count));
        while (sent >= 0 && sent < count)
        {
            var n = await operation.SendAsync(to, buffer.AsMemory(sent, count - sent)).ConfigureAwait(false);
            if (n <= 0)
            {
                return false;
            }

            sent += n;
        }

        return sent >= 0;
    }

    private void Dump(ReadOnlySpan<byte> data)
    {
        if (dump is not null)
        {
            PacketDump.Write(dump, clientToBackend, data);
        }
    }
}
