using Balance.Interop;

namespace Balance.Transport.Epoll;

/// <summary>The two ends of a kernel pipe that a spliced relay moves bytes through.</summary>
internal readonly record struct Pipe(int Read, int Write);

/// <summary>
/// The pipes that bulk relay directions splice through (<see cref="SpliceRelay"/>), kept between
/// uses, so a bulk episode costs no <c>pipe2</c> and no <c>close</c>. At most
/// <see cref="Capacity"/> exist at once: they come out of the descriptor budget
/// (<see cref="Proxy.DescriptorLimit.SplicePipes"/>), and a direction that finds none left relays by
/// copying, as it always could. An idle session holds no pipe: a direction gives its pipe back
/// as soon as its source has nothing more to read. Taking and giving back take no lock; both
/// happen once per bulk episode, not per read.
/// </summary>
internal sealed class PipePool : IDisposable
{
    /// <summary>Bytes each pipe holds: four times the default, for fewer splice calls per MiB (docs/performance.md, item 13).</summary>
    public const int PipeBytes = 256 * 1024;

    /// <summary>
    /// The smallest pipe worth splicing through, the kernel's default. Over the user's pipe quota
    /// the kernel makes pipes of two pages, which would move 8 KiB per call: copying does better.
    /// </summary>
    public const int MinPipeBytes = 64 * 1024;

    private const long Empty = -1;
    private const long RefusalPauseMs = 1000;

    private readonly long[] idle;
    private int existing;
    private int inUse;
    private long rentals;
    private int disposed;
    private int disabled;
    private long refusedUntil;
    private int allowed;

    public PipePool(int capacity)
    {
        Capacity = capacity;
        allowed = capacity;
        idle = new long[capacity];
        Array.Fill(idle, Empty);
    }

    public int Capacity { get; }

    /// <summary>
    /// Lets at most <paramref name="count"/> pipes exist from now on (up to <see cref="Capacity"/>):
    /// the descriptor budget after the open-files limit changed. Kept pipes over it close now,
    /// pipes in use as they come back.
    /// </summary>
    public void Allow(int count)
    {
        Volatile.Write(ref allowed, Math.Clamp(count, 0, Capacity));
        for (var i = 0; i < idle.Length && Existing > Volatile.Read(ref allowed); i++)
        {
            if (Volatile.Read(ref idle[i]) != Empty && Interlocked.Exchange(ref idle[i], Empty) is var packed and not Empty)
            {
                Destroy(Unpack(packed));
            }
        }
    }

    /// <summary>Pipes open now, in use or kept.</summary>
    public int Existing => Volatile.Read(ref existing);

    /// <summary>Pipes handed out and not yet given back or discarded.</summary>
    public int InUse => Volatile.Read(ref inUse);

    /// <summary>Pipes handed out so far (each a bulk episode of one direction).</summary>
    public long Rentals => Interlocked.Read(ref rentals);

    /// <summary>
    /// Stops handing out pipes, and closes the kept ones and those given back from now on: the
    /// system refused splicing (<see cref="SpliceOutcome.Unsupported"/>).
    /// </summary>
    public void Disable()
    {
        Volatile.Write(ref disabled, 1);
        CloseKept();
    }

    /// <summary>A pipe, kept or new; null when all <see cref="Capacity"/> are in use or none can be made.</summary>
    public Pipe? Rent()
    {
        if (Volatile.Read(ref disposed) != 0 || Volatile.Read(ref disabled) != 0)
        {
            return null;
        }

        for (var i = 0; i < idle.Length; i++)
        {
            if (Volatile.Read(ref idle[i]) != Empty && Interlocked.Exchange(ref idle[i], Empty) is var packed and not Empty)
            {
                Interlocked.Increment(ref rentals);
                Interlocked.Increment(ref inUse);
                return Unpack(packed);
            }
        }

        // After a refusal (the user's pipe quota, out of descriptors) the next tries wait a
        // while: each would cost a pipe2, two fcntl and two close only to find the same.
        if (Environment.TickCount64 < Volatile.Read(ref refusedUntil))
        {
            return null;
        }

        if (Interlocked.Increment(ref existing) > Volatile.Read(ref allowed))
        {
            Interlocked.Decrement(ref existing);
            return null;
        }

        if (Create() is not { } pipe)
        {
            Interlocked.Decrement(ref existing);
            Volatile.Write(ref refusedUntil, Environment.TickCount64 + RefusalPauseMs);
            return null;
        }

        Interlocked.Increment(ref rentals);
        Interlocked.Increment(ref inUse);
        return pipe;
    }

    /// <summary>Takes back an empty pipe for the next bulk episode.</summary>
    public void Return(Pipe pipe)
    {
        Interlocked.Decrement(ref inUse);
        var packed = Pack(pipe);
        for (var i = 0; i < idle.Length && !IsClosing && Existing <= Volatile.Read(ref allowed); i++)
        {
            if (Interlocked.CompareExchange(ref idle[i], packed, Empty) == Empty)
            {
                // A dispose that swept the slots before this one was filled would miss it.
                if (IsClosing && Interlocked.CompareExchange(ref idle[i], Empty, packed) == packed)
                {
                    Destroy(pipe);
                }

                return;
            }
        }

        Destroy(pipe);
    }

    /// <summary>Closes a pipe in use that may still hold bytes (its direction failed).</summary>
    public void Discard(Pipe pipe)
    {
        Interlocked.Decrement(ref inUse);
        Destroy(pipe);
    }

    /// <summary>Closes the kept pipes; pipes in use are closed when their directions give them back.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            CloseKept();
        }
    }

    private bool IsClosing => Volatile.Read(ref disposed) != 0 || Volatile.Read(ref disabled) != 0;

    private void CloseKept()
    {
        for (var i = 0; i < idle.Length; i++)
        {
            if (Interlocked.Exchange(ref idle[i], Empty) is var packed and not Empty)
            {
                Destroy(Unpack(packed));
            }
        }
    }

    private void Destroy(Pipe pipe)
    {
        _ = Libc.Close(pipe.Read);
        _ = Libc.Close(pipe.Write);
        Interlocked.Decrement(ref existing);
    }

    private static unsafe Pipe? Create()
    {
        var fds = stackalloc int[2];
        if (Libc.Pipe(fds, Libc.SockNonBlocking | Libc.CloseOnExec) < 0)
        {
            return null;
        }

        // Refused above the system's pipe-max-size or the user's pipe quota: a pipe of the
        // default size still does, with more calls per MiB; a smaller one does not.
        _ = Libc.Fcntl(fds[1], Libc.SetPipeSize, PipeBytes);
        if (Libc.Fcntl(fds[1], Libc.GetPipeSize, 0) < MinPipeBytes)
        {
            _ = Libc.Close(fds[0]);
            _ = Libc.Close(fds[1]);
            return null;
        }

        return new Pipe(fds[0], fds[1]);
    }

    private static long Pack(Pipe pipe) => ((long)pipe.Read << 32) | (uint)pipe.Write;

    private static Pipe Unpack(long packed) => new((int)(packed >> 32), (int)packed);
}
