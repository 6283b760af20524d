using System.Globalization;
using Balance.Transport.Epoll;

namespace Balance.Proxy;

/// <summary>
/// The engine's descriptors as they are, not as assumed: on the first worker's tick it reads the
/// open-files limit (which <c>prlimit --pid</c> may change at any time) and, once a second or when
/// the limit moved, counts what is open (<see cref="OpenDescriptors"/>), and from that sets each
/// worker's session cap (<see cref="DescriptorLimit.SessionCap"/>) and splice pipe allowance. It
/// also keeps the shortage episodes: whoever meets EMFILE or ENFILE reports it, the first report
/// of an episode is one notice naming the limit, and the episode ends (one event) once the tick
/// finds descriptors free again.
/// </summary>
internal sealed class DescriptorBudget : IDisposable
{
    private const long CountEveryMs = 1000;
    private const long QuietBeforeRecoveryMs = 1000;
    private readonly OpenDescriptors? counter;
    private readonly List<EngineContext> workers = [];
    private readonly Action<string> notice;
    private readonly Action<string> recovered;
    private long? limit;
    private int open;
    private int totalCap = int.MaxValue;
    private int workerCap = int.MaxValue;
    private long nextCount;
    private int shortage;
    private long lastShortageMs;

    /// <param name="notice">Writes a notice (stderr and the event ring): the start of an episode, a changed limit.</param>
    /// <param name="recovered">Publishes the end of an episode (the event ring).</param>
    public DescriptorBudget(Action<string> notice, Action<string> recovered)
    {
        this.notice = notice;
        this.recovered = recovered;
        counter = OpenDescriptors.TryOpen();
    }

    /// <summary>Sessions one worker may hold now; int.MaxValue while nothing is known.</summary>
    public int WorkerCap => Volatile.Read(ref workerCap);

    /// <summary>Sessions the whole engine may hold now; int.MaxValue while nothing is known.</summary>
    public int TotalCap => Volatile.Read(ref totalCap);

    /// <summary>True while a shortage episode lasts: accepting waits for the tick that ends it.</summary>
    public bool Short => Volatile.Read(ref shortage) != 0;

    /// <summary>Adds a worker whose sessions and pipes count (before the ticks start).</summary>
    public void Add(EngineContext worker) => workers.Add(worker);

    /// <summary>The first worker's tick: re-reads the limit, recounts when due, ends a shortage that is over.</summary>
    public void Tick()
    {
        var now = Environment.TickCount64;
        var current = DescriptorLimit.ReadSoftLimit();
        var moved = current != limit && limit is not null;
        if (current == limit && now < nextCount && !Short)
        {
            return;
        }

        nextCount = now + CountEveryMs;
        limit = current;
        Recount();
        if (moved)
        {
            notice(string.Create(CultureInfo.InvariantCulture, $"the per-process open-files limit (ulimit -n) is now {current}: {open} descriptors open, sessions capped at {totalCap}"));
        }

        if (Short && now - Volatile.Read(ref lastShortageMs) >= QuietBeforeRecoveryMs && current is { } l && open + DescriptorLimit.FreeReserve(l) <= l)
        {
            Volatile.Write(ref shortage, 0);
            recovered(string.Create(CultureInfo.InvariantCulture, $"descriptors free again ({open} open of {l}): accepting"));
        }
    }

    /// <summary>
    /// Someone met EMFILE or ENFILE doing <paramref name="what"/>: the first report of an episode
    /// writes one notice; accepting pauses until the tick ends the episode.
    /// </summary>
    public void ReportShortage(string what)
    {
        Volatile.Write(ref lastShortageMs, Environment.TickCount64);
        if (Interlocked.Exchange(ref shortage, 1) != 0)
        {
            return;
        }

        var counted = counter?.Count() ?? -1;
        var l = DescriptorLimit.ReadSoftLimit();
        string text;
        if (l is not { } max || counted < 0)
        {
            text = $"out of descriptors ({what}): accepting paused until descriptors are free";
        }
        else if (counted + 2 >= max)
        {
            text = string.Create(CultureInfo.InvariantCulture, $"out of descriptors ({what}): {counted} open, the per-process open-files limit (ulimit -n, RLIMIT_NOFILE) is {max}; accepting paused until descriptors are free (raise the limit or lower the load)");
        }
        else
        {
            text = string.Create(CultureInfo.InvariantCulture, $"out of descriptors ({what}): the system-wide file table is full (fs.file-max; this process has {counted} open of its limit of {max}); accepting paused until descriptors are free");
        }

        notice(text);
    }

    public void Dispose() => counter?.Dispose();

    private void Recount()
    {
        if (limit is not { } l || counter?.Count() is not (>= 0 and var counted))
        {
            return;
        }

        var sessions = 0;
        var pipeEnds = 0;
        foreach (var worker in workers)
        {
            sessions += worker.Sessions.Count;
            pipeEnds += 2 * ((worker.TransportOrNull as EpollTransport)?.Pipes?.Existing ?? 0);
        }

        open = counted;
        var cap = DescriptorLimit.SessionCap(l, counted, sessions, pipeEnds);
        var count = Math.Max(workers.Count, 1);
        Volatile.Write(ref totalCap, cap);
        Volatile.Write(ref workerCap, (cap + count - 1) / count);
        var pipesEach = DescriptorLimit.SplicePipes(l) / count;
        foreach (var worker in workers)
        {
            (worker.TransportOrNull as EpollTransport)?.Pipes?.Allow(pipesEach);
        }
    }
}
