using System.Buffers;
using System.Net.Sockets;

namespace Balance.Proxy;

/// <summary>
/// Copies bytes both ways between a client and its back-end, one async loop per direction.
/// Each loop first waits with a zero-byte receive, so an idle session holds no buffer; only when
/// data is there does it rent a pooled buffer, read what is there, send all of it and give the
/// buffer back (it keeps it while reads fill it completely, i.e. during bulk transfers). The loops
/// allocate nothing per read and take no lock. End of stream on one side shuts down sending on
/// the other and the other direction keeps flowing (half-close, which the original lost); an
/// error on either side closes both.
/// </summary>
internal sealed class Relay
{
    /// <summary>Bytes per read; the original used 32 KiB.</summary>
    public const int BufferSize = 32 * 1024;

    private readonly EngineContext context;

    public Relay(EngineContext context)
    {
        this.context = context;
    }

    /// <summary>Starts both directions of a connected session.</summary>
    public void Start(Session session)
    {
        session.StartRelaying();

        // The second direction starts on the pool (the session is the work item: no allocation),
        // so a first direction that completes synchronously for a while cannot hold it back.
        ThreadPool.UnsafeQueueUserWorkItem(session, preferLocal: false);
        _ = PumpAsync(session, clientToBackend: true);
    }

    public async Task PumpAsync(Session session, bool clientToBackend)
    {
        var from = clientToBackend ? session.Client : session.Backend!;
        var to = clientToBackend ? session.Backend! : session.Client;
        var operation = clientToBackend ? session.Upstream : session.Downstream;
        var dump = context.Dump;
        byte[]? buffer = null;
        var failed = false;
        try
        {
            while (true)
            {
                if (buffer is null)
                {
                    if (await operation.ReceiveAsync(from, Memory<byte>.Empty).ConfigureAwait(false) < 0)
                    {
                        failed = true;
                        break;
                    }

                    buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                }

                var read = await operation.ReceiveAsync(from, buffer).ConfigureAwait(false);
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

                session.Touch();
                var sent = 0;
                while (sent < read)
                {
                    var n = await operation.SendAsync(to, buffer.AsMemory(sent, read - sent)).ConfigureAwait(false);
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

                if (clientToBackend)
                {
                    session.CountSent(read);
                }
                else
                {
                    session.CountReceived(read);
                }

                if (read < buffer.Length)
                {
                    operation.ClearBuffer();
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }

            if (!failed)
            {
                to.Shutdown(SocketShutdown.Send);
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
}
