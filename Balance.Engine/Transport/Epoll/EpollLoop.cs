using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Balance.Interop;

namespace Balance.Transport.Epoll;

/// <summary>
/// The engine's own epoll loop on Linux: one thread, edge-triggered, which wakes the relay
/// direction or connect waiting on a socket. The runtime's socket engine tries every operation
/// once before it waits, which on a relay is a failed read per message and direction, and it
/// wakes for every event of a socket that has had one asynchronous operation; sockets that only
/// this loop waits on cost neither. Continuations run inline on the loop thread, as they do on
/// the runtime's (<see cref="Sockets.SocketRuntimeTuning"/>). A socket is removed from the epoll set by
/// its close; <see cref="Unregister"/> only frees its slot. A periodic task (<see cref="SetTick"/>,
/// the engine's sweeper) runs on the loop thread too, timed by the wait's timeout, so an idle
/// engine has one thread that wakes for it instead of a timer thread and pool workers. Work
/// posted with <see cref="Post"/> (the end of an aborted wait, a bulk direction that let others
/// run: <see cref="Yield"/>) runs there as well, in rounds between looks for events, so neither
/// depends on a free thread-pool worker.
/// </summary>
internal sealed unsafe class EpollLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeKey = ulong.MaxValue;
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly int epoll;
    private readonly int wake;
    private readonly Thread thread;
    private readonly Lock slotsLock = new();
    private readonly Stack<int> freeSlots = new();
    private readonly Action<Exception> onError;
    private readonly ConcurrentQueue<(Action<object?> Work, object? State)> posted = new();

    // Chunks are allocated as needed and never move, so the loop thread reads them without a lock.
    private readonly SocketRegistration?[]?[] chunks;
    private readonly uint[]?[] generations;
    private int used;
    private volatile bool stopping;
    private Action? tick;
    private long tickPeriodMs;
    private bool closeOnExit;
    private int descriptorsClosed;
    private int wakers;
    private int postsClosed;
    private int postedCount; // what RunPosted may take this round; ConcurrentQueue.Count would freeze its segments
    private byte[]? stepBuffer;

    private EpollLoop(int epoll, int wake, int capacity, Action<Exception> onError)
    {
        this.epoll = epoll;
        this.wake = wake;
        this.onError = onError;
        var chunkCount = (capacity + ChunkSize - 1) / ChunkSize;
        chunks = new SocketRegistration?[]?[chunkCount];
        generations = new uint[]?[chunkCount];
        thread = new Thread(Run) { IsBackground = true, Name = "balance epoll" };
    }

    /// <summary>
    /// A loop for up to <paramref name="capacity"/> sockets at once, or null where there is none
    /// (not Linux x86-64, or no descriptors left). <paramref name="onError"/> hears of a bug in a
    /// continuation, which must cost its session, never the loop.
    /// </summary>
    public static EpollLoop? TryCreate(int capacity, Action<Exception> onError)
    {
        if (!Libc.IsLinuxX64)
        {
            return null;
        }

        var epoll = Libc.EpollCreate(Libc.CloseOnExec);
        if (epoll < 0)
        {
            return null;
        }

        var wake = Libc.EventFd(0, Libc.CloseOnExec | Libc.EventFdNonBlocking);
        var ev = new Libc.EpollEvent { Events = Libc.EpollIn, Data = WakeKey };
        if (wake < 0 || Libc.EpollControl(epoll, Libc.EpollCtlAdd, wake, &ev) < 0)
        {
            if (wake >= 0)
            {
                Libc.Close(wake);
            }

            Libc.Close(epoll);
            return null;
        }

        var loop = new EpollLoop(epoll, wake, Math.Max(capacity, ChunkSize), onError);
        loop.thread.Start();
        return loop;
    }

    /// <summary>Adds a socket (edge-triggered, read and write); the caller unregisters it before it closes it.</summary>
    public SocketRegistration Register(SafeHandle socket)
    {
        // The add happens under the lock that Dispose takes before it closes the epoll
        // descriptor, so it can never reach a closed descriptor, or another one given its number.
        lock (slotsLock)
        {
            ObjectDisposedException.ThrowIf(stopping, this);
            int slot;
            if (freeSlots.Count > 0)
            {
                slot = freeSlots.Pop();
            }
            else
            {
                if (used == chunks.Length * ChunkSize)
                {
                    throw new SocketException((int)SocketError.TooManyOpenSockets);
                }

                slot = used++;
                if (chunks[slot >> ChunkBits] is null)
                {
                    generations[slot >> ChunkBits] = new uint[ChunkSize];
                    Volatile.Write(ref chunks[slot >> ChunkBits], new SocketRegistration?[ChunkSize]);
                }
            }

            var registration = new SocketRegistration(slot, ++generations[slot >> ChunkBits]![slot & (ChunkSize - 1)], this);
            ref var entry = ref chunks[slot >> ChunkBits]![slot & (ChunkSize - 1)];
            Volatile.Write(ref entry, registration);
            var ev = new Libc.EpollEvent
            {
                Events = Libc.EpollIn | Libc.EpollPriority | Libc.EpollOut | Libc.EpollRdHup | Libc.EpollEdgeTriggered,
                Data = registration.Key,
            };
            var added = Libc.EpollControl(epoll, Libc.EpollCtlAdd, socket, &ev);
            if (added < 0)
            {
                Volatile.Write(ref entry, null);
                freeSlots.Push(slot);
                throw Errors.SocketException(added);
            }

            return registration;
        }
    }

    public void Unregister(SocketRegistration registration)
    {
        lock (slotsLock)
        {
            var chunk = chunks[registration.Slot >> ChunkBits]!;
            ref var entry = ref chunk[registration.Slot & (ChunkSize - 1)];
            if (ReferenceEquals(entry, registration))
            {
                Volatile.Write(ref entry, null);
                freeSlots.Push(registration.Slot);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the loop thread every <paramref name="period"/> (first
    /// one period from now), or stops it when null. An exception in it goes to the loop's error
    /// handler, and the ticks go on. A tick already under way when it is stopped may finish.
    /// </summary>
    public void SetTick(Action? action, TimeSpan period)
    {
        if (stopping)
        {
            return;
        }

        Volatile.Write(ref tickPeriodMs, Math.Max(1, (long)period.TotalMilliseconds));
        Volatile.Write(ref tick, action);
        Wake(); // a loop asleep without a timeout takes the new one at once
    }

    /// <summary>
    /// The buffer of the relay steps that run on this loop's thread (<see cref="IReadyStep"/>): one
    /// serves every session, as steps run one at a time and keep nothing in it. Loop thread only.
    /// </summary>
    public byte[] StepBuffer => stepBuffer ??= GC.AllocateUninitializedArray<byte>(RelayLimits.BufferSize);

    /// <summary>An awaitable that goes on in the loop's next round, on its thread (<see cref="LoopYield"/>).</summary>
    public LoopYield Yield() => new(this);

    /// <summary>
    /// Runs <paramref name="work"/> on the loop thread soon, never inside the caller. Once the
    /// loop has ended it runs on the thread pool instead, so posted work is never lost.
    /// </summary>
    public void Post(Action<object?> work, object? state)
    {
        posted.Enqueue((work, state));
        Interlocked.Increment(ref postedCount);
        if (Volatile.Read(ref postsClosed) != 0)
        {
            // The loop has drained its queue for the last time (or is doing so): whatever is
            // still there goes to the pool, this item among them unless the loop took it.
            RunPostedOnPool();
        }
        else if (Thread.CurrentThread != thread)
        {
            Wake();
        }
    }

    /// <summary>True while the loop's thread runs: after <see cref="Dispose"/>, when it did not end in time.</summary>
    public bool IsRunning => thread.IsAlive;

    public void Dispose()
    {
        lock (slotsLock)
        {
            if (stopping)
            {
                return;
            }

            stopping = true;
        }

        Wake();
        if (Thread.CurrentThread != thread && thread.Join(TimeSpan.FromSeconds(5)))
        {
            CloseDescriptors();
            return;
        }

        // The loop thread may still be in a wait or a read on them (this is that thread, or it
        // is stuck in a callback): it closes them on its way out, so their numbers are never
        // reused under it.
        Volatile.Write(ref closeOnExit, true);
        if (!thread.IsAlive)
        {
            CloseDescriptors();
        }
    }

    private void CloseDescriptors()
    {
        if (Interlocked.Exchange(ref descriptorsClosed, 1) == 0)
        {
            // A wake-up from another thread (a post, a tick change) may be writing to the eventfd
            // right now: its number must not be closed, and perhaps reused, under that write.
            var spin = new SpinWait();
            while (Volatile.Read(ref wakers) != 0)
            {
                spin.SpinOnce();
            }

            Libc.Close(wake);
            Libc.Close(epoll);
        }
    }

    private void Wake()
    {
        // Announced before the check, and the close checks after its own flag: either this sees
        // the descriptors closing and writes nothing, or the close waits for this write.
        Interlocked.Increment(ref wakers);
        try
        {
            if (Volatile.Read(ref descriptorsClosed) == 0)
            {
                ulong one = 1;
                Libc.Write(wake, &one, sizeof(ulong));
            }
        }
        finally
        {
            Interlocked.Decrement(ref wakers);
        }
    }

    private void Run()
    {
        try
        {
            RunLoop();
        }
        finally
        {
            Interlocked.Exchange(ref postsClosed, 1);
            RunPosted();
            RunPostedOnPool(); // what that posted, and anything a bounded round left

            if (Volatile.Read(ref closeOnExit))
            {
                CloseDescriptors();
            }
        }
    }

    /// <summary>
    /// Runs what was posted before this round began; what that posts in turn (a bulk direction
    /// yielding again) waits for the next round, after the loop has looked for events.
    /// </summary>
    private void RunPosted()
    {
        if (Volatile.Read(ref postedCount) <= 0)
        {
            return;
        }

        // Counted after the enqueue, so an item not counted yet waits for the next round.
        for (var n = Volatile.Read(ref postedCount); n > 0 && posted.TryDequeue(out var item); n--)
        {
            Interlocked.Decrement(ref postedCount);
            try
            {
                item.Work(item.State);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                onError(e);
            }
        }
    }

    private void RunPostedOnPool()
    {
        while (posted.TryDequeue(out var item))
        {
            Interlocked.Decrement(ref postedCount);
            ThreadPool.UnsafeQueueUserWorkItem(item.Work, item.State, preferLocal: false);
        }
    }

    private void RunLoop()
    {
        var events = stackalloc Libc.EpollEvent[MaxEvents];
        long nextTick = 0;
        var waitedForTick = false;
        while (!stopping)
        {
            var timeout = -1;
            if (Volatile.Read(ref tick) is { } action)
            {
                var period = Volatile.Read(ref tickPeriodMs);
                var now = Environment.TickCount64;
                if (nextTick == 0)
                {
                    nextTick = now + period;
                }
                else if (now >= nextTick || waitedForTick)
                {
                    // A wait that timed out is the tick's time, even where the coarse clock
                    // behind TickCount64 has not reached it yet (which would cost another wait).
                    RunTick(action);
                    now = Environment.TickCount64;
                    nextTick = now + period;
                }

                timeout = (int)Math.Clamp(nextTick - now, 0, period);
            }
            else
            {
                nextTick = 0;
            }

            // Before every wait: what the last events or the tick posted (a tick that closed
            // idle sessions) runs now, not when the next event or tick ends the wait; and while
            // work is left (a direction that yielded), the wait only looks for events.
            RunPosted();
            // The count, not the queue: a post from another thread counts its item after the
            // enqueue and wakes the loop after that, so an item not counted yet is no reason to
            // spin on waits that return at once.
            if (Volatile.Read(ref postedCount) > 0)
            {
                timeout = 0;
            }

            var n = Libc.EpollWait(epoll, events, MaxEvents, timeout);
            waitedForTick = n == 0 && timeout > 0;
            if (n < 0)
            {
                if (Errors.Of(n) == Errno.EINTR)
                {
                    continue;
                }

                // Nothing waits on this loop from here on, nor runs its ticks: say so.
                if (!stopping)
                {
                    onError(Errors.SocketException(n));
                }

                return;
            }

            for (var i = 0; i < n; i++)
            {
                var key = events[i].Data;
                if (key == WakeKey)
                {
                    // The eventfd is level-triggered: read it back to zero, or every wait ends at once.
                    ulong count;
                    Libc.Read(wake, &count, sizeof(ulong));
                    continue;
                }

                var slot = (int)(uint)key;
                var chunk = slot >> ChunkBits < chunks.Length ? Volatile.Read(ref chunks[slot >> ChunkBits]) : null;
                var registration = chunk is null ? null : Volatile.Read(ref chunk[slot & (ChunkSize - 1)]);
                if (registration is null || registration.Generation != (uint)(key >> 32))
                {
                    continue;
                }

                var what = events[i].Events;
                try
                {
                    var end = (what & (Libc.EpollRdHup | Libc.EpollHup | Libc.EpollErr)) != 0;
                    var urgent = (what & Libc.EpollPriority) != 0;
                    if (end || urgent || (what & Libc.EpollIn) != 0)
                    {
                        registration.Readable.Signal(end, urgent);
                    }

                    if ((what & (Libc.EpollOut | Libc.EpollHup | Libc.EpollErr)) != 0)
                    {
                        registration.Writable.Signal(false);
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The relay and the connector catch their own errors: this is a last line only.
                    onError(e);
                }
            }
        }
    }

    private void RunTick(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            onError(e);
        }
    }
}
