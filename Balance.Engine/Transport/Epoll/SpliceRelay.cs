using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Balance.Interop;
using Balance.Proxy;

namespace Balance.Transport.Epoll;

/// <summary>How a spliced bulk episode ended.</summary>
internal enum SpliceOutcome
{
    /// <summary>
    /// A splice found nothing more to take and everything taken was sent. The source may have
    /// ended, or stopped at TCP urgent data; a read tells which, and goes on past the mark.
    /// </summary>
    Paused,

    /// <summary>A read, a send or a wait failed: the session is to be closed.</summary>
    Failed,

    /// <summary>The system refused splicing before anything was moved (a sandbox, an old kernel): copy instead.</summary>
    Unsupported,
}

/// <summary>
/// One relay direction's bulk episode on the epoll loop: <c>splice(2)</c> moves the bytes from the
/// source socket into a pipe and from the pipe into the destination socket, so they never cross
/// into the process (a copying relay reads them into a buffer and sends them out again: two
/// copies per byte; docs/performance.md, item 13, has the measurements). Each round fills the
/// pipe from the source and drains it into the destination before the next, so when the source
/// has nothing more the pipe is empty. The episode owns its pipe: an empty one goes back to the
/// pool, one that may hold bytes (a failure) is closed. Counters are added as bytes leave the pipe.
/// </summary>
internal static class SpliceRelay
{
    /// <summary>Bytes a direction moves before it lets other sessions run, as the copying relay does.</summary>
    private const long BytesBeforeYield = 2 * 1024 * 1024;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<SpliceOutcome> RunAsync(
        EpollLoop loop, Session session, SafeHandle from, SafeHandle to, Readiness readable, Readiness writable, PipePool pipes, Pipe pipe, bool clientToBackend)
    {
        var outcome = SpliceOutcome.Failed;
        try
        {
            outcome = await MoveAsync(loop, session, from, to, readable, writable, pipe, clientToBackend).ConfigureAwait(false);
            if (outcome == SpliceOutcome.Unsupported)
            {
                pipes.Disable();
            }

            return outcome;
        }
        finally
        {
            // Also on an exception, which is a bug in the episode: the pipe is never lost.
            if (outcome == SpliceOutcome.Failed)
            {
                pipes.Discard(pipe);
            }
            else
            {
                pipes.Return(pipe);
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<SpliceOutcome> MoveAsync(
        EpollLoop loop, Session session, SafeHandle from, SafeHandle to, Readiness readable, Readiness writable, Pipe pipe, bool clientToBackend)
    {
        long moved = 0;
        long sinceYield = 0;
        try
        {
            while (true)
            {
                readable.Clear();
                var read = Into(from, pipe.Write);
                if (read == 0)
                {
                    // Not always the end: a splice stopped at an urgent mark also returns 0 once
                    // the FIN is in, with the bytes after the mark still queued. A read tells.
                    return SpliceOutcome.Paused;
                }

                if (read < 0)
                {
                    return Errors.Of(read) == Errno.EAGAIN ? SpliceOutcome.Paused
                        : moved == 0 && Refused(Errors.Of(read)) ? SpliceOutcome.Unsupported
                        : SpliceOutcome.Failed;
                }

                session.Touch();
                var left = read;
                while (left > 0)
                {
                    writable.Clear();
                    var sent = OutOf(pipe.Read, to, left);
                    if (Errors.Of(sent) == Errno.EAGAIN)
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
                    session.Count(clientToBackend, (int)sent);
                }

                moved += read;
                sinceYield += read;
                if (sinceYield >= BytesBeforeYield)
                {
                    sinceYield = 0;
                    await loop.Yield();
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The session was closed under the episode (abort, engine stop).
            return SpliceOutcome.Failed;
        }
    }

    /// <summary>Errors that say splicing is not allowed or not there, rather than anything about the connection.</summary>
    private static bool Refused(Errno errno) => errno is Errno.EPERM or Errno.EINVAL or Errno.ENOSYS or Errno.EOPNOTSUPP;

    /// <summary>Source to pipe: bytes moved, 0 at the source's FIN, or the negated errno.</summary>
    private static long Into(SafeHandle from, int pipeWrite) =>
        Libc.SpliceFromSocket(from, pipeWrite, PipePool.PipeBytes, Libc.SpliceMove | Libc.SpliceNonBlocking);

    /// <summary>Pipe to destination: bytes moved, or the negated errno.</summary>
    private static long OutOf(int pipeRead, SafeHandle to, long count) =>
        Libc.SpliceToSocket(pipeRead, to, (nuint)count, Libc.SpliceMove | Libc.SpliceNonBlocking);
}
