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

    /// <summary>
    /// Full buffers relayed in a row before a direction lets others run. Continuations run on the
    /// socket engine's thread (<see cref="SocketRuntimeTuning"/>), and while data keeps arriving a
    /// direction never waits, so without this one bulk stream would hold that thread (2 MiB here).
    /// </summary>
    private const int FullReadsBeforeYield = 64;

    private readonly EngineContext context;

    public Relay(EngineContext context)
    {
        this.context = context;
    }

    /// <summary>Starts both directions of a connected session.</summary>
    public void Start(Session session)
    {
        session.StartRelaying();

        // Both directions start right here: each runs until its first receive that has to wait,
        // which for the back-end side is at once (it has not been sent anything yet), and a long
        // synchronous run is cut by the yield in the loop. Posting one of them to the thread pool
        // instead cost a worker wake-up and two futex calls per connection.
        _ = PumpAsync(session, clientToBackend: false);
        _ = PumpAsync(session, clientToBackend: true);
    }

    public async Task PumpAsync(Session session, bool clientToBackend)
    {
        var from = clientToBackend ? session.Client : session.Backend!;
        var to = clientToBackend ? session.Backend! : session.Client;
        var operation = clientToBackend ? session.Upstream : session.Downstream;
        var dump = context.Dump;
        byte[]? buffer = null;
        var fullReads = 0;
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
                    fullReads = 0;
                }
                else if (++fullReads == FullReadsBeforeYield)
                {
                    fullReads = 0;
                    await Task.Yield();
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
