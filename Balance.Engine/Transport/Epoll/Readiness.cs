using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Balance.Transport.Epoll;

/// <summary>
/// One readiness of one socket (readable or writable) that one relay direction awaits. The epoll
/// loop signals it on every edge; a signal that finds nobody waiting is kept, so a wait never
/// misses an edge (it may see one whose data an earlier read already took: the caller's read then
/// finds nothing and waits again). <see cref="Clear"/> before a direct read or send drops a kept
/// signal that read or send is about to act on. A read that returns data does not consume a FIN
/// behind it, and the FIN's edge may be the one that data came with, so the end of stream is kept
/// apart: <see cref="HasEnded"/> stays set once the peer's FIN, a hang-up or an error was seen,
/// and then a reader reads again instead of waiting. TCP urgent data is kept apart too: a read
/// (or a splice) stops short at its mark with the bytes behind it already queued, so no edge will
/// come for them. A reader takes <see cref="TakeUrgent"/> before each read and, while it holds
/// it, reads again after a short read instead of waiting, until a read finds nothing (the
/// kernel reports urgent data with every edge while it is queued). Result: 0 when ready, the negated
/// <see cref="SocketError.OperationAborted"/> once aborted. A wait may bring a <see cref="IReadyStep"/>:
/// an edge then runs it on the loop thread first, and the wait goes on when it handled the edge.
/// </summary>
internal sealed class Readiness : IValueTaskSource<int>
{
    private const int Idle = 0;
    private const int Waiting = 1;
    private const int Signaled = 2;
    private const int Aborted = 3;
    private const int AbortedResult = -(int)SocketError.OperationAborted;

    private readonly EpollLoop loop;
    private ManualResetValueTaskSourceCore<int> core;
    private IReadyStep? step;
    private int state;
    private int ended;
    private int urgent;

    /// <summary>A readiness whose aborted wait ends on <paramref name="loop"/>'s thread (on the pool once the loop is gone).</summary>
    public Readiness(EpollLoop loop)
    {
        this.loop = loop;
    }

    /// <summary>An edge arrived that no wait has taken yet.</summary>
    public bool IsSignaled => Volatile.Read(ref state) == Signaled;

    /// <summary>True once the socket reported the peer's FIN, a hang-up or an error: reading will not block.</summary>
    public bool HasEnded => Volatile.Read(ref ended) != 0;

    /// <summary>
    /// Waits for the next edge. With <paramref name="readyStep"/>, each edge first runs it on the
    /// loop thread; the wait ends only at an edge it did not handle (or at the abort).
    /// </summary>
    public ValueTask<int> WaitAsync(IReadyStep? readyStep = null)
    {
        if (Interlocked.CompareExchange(ref state, Idle, Signaled) == Signaled)
        {
            return new ValueTask<int>(0);
        }

        core.Reset();
        step = readyStep; // published by the exchange below
        var seen = Interlocked.CompareExchange(ref state, Waiting, Idle);
        if (seen == Idle)
        {
            return new ValueTask<int>(this, core.Version);
        }

        if (seen == Waiting)
        {
            throw new InvalidOperationException("a wait on this readiness is already pending");
        }

        // Signaled or aborted between the two exchanges.
        return new ValueTask<int>(Interlocked.CompareExchange(ref state, Idle, Signaled) == Signaled ? 0 : AbortedResult);
    }

    /// <summary>True while urgent data was reported and no reader has taken it (<see cref="TakeUrgent"/>).</summary>
    public bool HasUrgent => Volatile.Read(ref urgent) != 0;

    /// <summary>
    /// True once after the socket reported urgent data. Taken after <see cref="Clear"/> and before
    /// a read: a report that comes later also leaves a signal, so the reader's next wait ends at once.
    /// </summary>
    public bool TakeUrgent() => Volatile.Read(ref urgent) != 0 && Interlocked.Exchange(ref urgent, 0) != 0;

    /// <summary>Called by the loop thread; the waiting direction continues on it.</summary>
    public void Signal(bool end, bool urgentData = false)
    {
        // Both are set before the state changes, so a reader that cleared the signal before its
        // read sees them after it, or else gets this signal.
        if (end)
        {
            Volatile.Write(ref ended, 1);
        }

        if (urgentData)
        {
            Volatile.Write(ref urgent, 1);
        }

        while (true)
        {
            var s = Volatile.Read(ref state);
            if (s == Waiting)
            {
                // The waiter's step runs while it still waits: nothing else runs the direction
                // meanwhile, and an abort on another thread takes over the wait as before.
                if (step is { } ready && ready.TryStep())
                {
                    return;
                }

                if (Interlocked.CompareExchange(ref state, Idle, Waiting) == Waiting)
                {
                    core.SetResult(0);
                    return;
                }
            }
            else if (s != Idle || Interlocked.CompareExchange(ref state, Signaled, Idle) == Idle)
            {
                return;
            }
        }
    }

    public void Clear() => Interlocked.CompareExchange(ref state, Idle, Signaled);

    /// <summary>
    /// Ends every present and future wait. A waiting direction continues on the loop's thread, as
    /// it does after an edge, and not inside the caller (often the other direction, in the middle
    /// of its own unwinding); so sessions closed by a stop unwind even while the thread pool is
    /// busy, which a host process's pool may be for seconds.
    /// </summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref state, Aborted) == Waiting)
        {
            loop.Post(static r => ((Readiness)r!).core.SetResult(AbortedResult), this);
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        core.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// Work that handles a readiness edge on the loop thread without ending the wait that brought it
/// (<see cref="Readiness.WaitAsync"/>): the steady state of a relay direction, done without
/// resuming its asynchronous method.
/// </summary>
internal interface IReadyStep
{
    /// <summary>True when the edge was handled and the wait goes on; false to end the wait.</summary>
    bool TryStep();
}
