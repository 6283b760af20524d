using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>How a spliced bulk episode ended.</summary>
internal enum SpliceOutcome
{
    /// <summary>The source had nothing more to read and everything read was sent: the pipe is empty.</summary>
    Paused,

    /// <summary>The source ended (its FIN) and everything before it was sent: the pipe is empty.</summary>
    Ended,

    /// <summary>A read, a send or a wait failed; the pipe may still hold bytes.</summary>
    Failed,
}

/// <summary>
/// One relay direction's bulk episode on the epoll loop: <c>splice(2)</c> moves the bytes from the
/// source socket into a pipe and from the pipe into the destination socket, so they never cross
/// into the process (a copying relay reads them into a buffer and sends them out again: two
/// copies per byte). Measured on this machine with iperf3, 1 and 8 streams: 0.31-0.38 s of proxy
/// CPU per GB against 0.72-0.85 for the copying relay. Each round fills the pipe from the source
/// and drains it into the destination before the next, so when the source has nothing more the
/// pipe is empty and goes back to the pool. Counters are added as bytes leave the pipe.
/// </summary>
internal static partial class SpliceRelay
{
    /// <summary>Bytes a direction moves before it lets other sessions run, as the copying relay does.</summary>
    private const long BytesBeforeYield = 2 * 1024 * 1024;

    private const uint Move = 1; // SPLICE_F_MOVE
    private const uint NonBlocking = 2; // SPLICE_F_NONBLOCK

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<SpliceOutcome> RunAsync(Session session, SafeHandle from, SafeHandle to, Readiness readable, Readiness writable, Pipe pipe, bool clientToBackend)
    {
        long sinceYield = 0;
        try
        {
            while (true)
            {
                readable.Clear();
                var read = Into(from, pipe.Write);
                if (read == 0)
                {
                    return SpliceOutcome.Ended;
                }

                if (read < 0)
                {
                    return read == -LinuxErrors.WouldBlock ? SpliceOutcome.Paused : SpliceOutcome.Failed;
                }

                session.Touch();
                var left = read;
                while (left > 0)
                {
                    writable.Clear();
                    var sent = OutOf(pipe.Read, to, left);
                    if (sent == -LinuxErrors.WouldBlock)
                    {
                        if (await writable.WaitAsync().ConfigureAwait(false) < 0)
                        {
                            return SpliceOutcome.Failed;
                        }

                        continue;
                    }

                    if (sent <= 0)
                    {
                        return SpliceOutcome.Failed;
                    }

                    left -= sent;
                    if (clientToBackend)
                    {
                        session.CountSent((int)sent);
                    }
                    else
                    {
                        session.CountReceived((int)sent);
                    }
                }

                sinceYield += read;
                if (sinceYield >= BytesBeforeYield)
                {
                    sinceYield = 0;
                    await Task.Yield();
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The session was closed under the episode (abort, engine stop).
            return SpliceOutcome.Failed;
        }
    }

    /// <summary>Source to pipe: bytes moved, 0 at the source's FIN, or the negated errno.</summary>
    private static long Into(SafeHandle from, int pipeWrite)
    {
        var n = SpliceFromSocket(from, 0, pipeWrite, 0, PipePool.PipeBytes, Move | NonBlocking);
        return n >= 0 ? n : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Pipe to destination: bytes moved, or the negated errno.</summary>
    private static long OutOf(int pipeRead, SafeHandle to, long count)
    {
        var n = SpliceToSocket(pipeRead, 0, to, 0, (nuint)count, Move | NonBlocking);
        return n >= 0 ? n : -Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static partial nint SpliceFromSocket(SafeHandle source, nint sourceOffset, int destination, nint destinationOffset, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static partial nint SpliceToSocket(int source, nint sourceOffset, SafeHandle destination, nint destinationOffset, nuint length, uint flags);
}
