using Balance.Interop;

namespace Balance.Proxy;

/// <summary>
/// The process's open-file limit, and how many sessions fit under it. Running into the limit is
/// worse than it looks: besides failing accepts and connects, the .NET runtime itself cannot
/// open /proc/meminfo any more and aborts with "Out of memory" at its next GC (observed). So the
/// engine raises the soft limit to the hard one at start, as haproxy does, and never accepts more
/// sessions (two descriptors each) than fit below the limit minus a reserve.
/// </summary>
internal static class DescriptorLimit
{
    /// <summary>Descriptors left for the runtime, the segment, log files and the host application.</summary>
    public const int Reserve = 128;

    /// <summary>The soft limit in force now (Linux), or null when unknown: it can change at run time (<c>prlimit --pid</c>).</summary>
    public static long? ReadSoftLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return Libc.GetRLimit(Libc.RlimitNoFile, out var limit) < 0 ? null : (long)Math.Min(limit.Current, long.MaxValue);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Descriptors kept free under <paramref name="limit"/> once what is open is counted: the
    /// runtime needs two for every thread it starts, and health checks, the metrics endpoint and
    /// new splice pipes take theirs from here. An eighth of the limit, 32 to <see cref="Reserve"/>.
    /// </summary>
    public static int FreeReserve(long limit) => (int)Math.Clamp(limit / 8, 32, Reserve);

    /// <summary>
    /// Sessions the whole engine may hold under <paramref name="limit"/> when <paramref name="open"/>
    /// descriptors are open, <paramref name="sessions"/> of them sessions (two each) and
    /// <paramref name="pipeDescriptors"/> splice pipe ends: whatever else is open (the runtime,
    /// inherited descriptors, the segment) is counted, not assumed.
    /// </summary>
    public static int SessionCap(long limit, int open, int sessions, int pipeDescriptors)
    {
        var others = Math.Max(0L, open - (2L * sessions) - pipeDescriptors);
        return (int)Math.Clamp((limit - others - FreeReserve(limit) - pipeDescriptors) / 2, 0, int.MaxValue);
    }

    /// <summary>Raises the soft limit to the hard limit (Linux); returns the limit now in force, or null when unknown.</summary>
    public static long? RaiseSoftLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            if (Libc.GetRLimit(Libc.RlimitNoFile, out var limit) < 0)
            {
                return null;
            }

            if (limit.Current < limit.Maximum)
            {
                var raised = limit with { Current = limit.Maximum };
                if (Libc.SetRLimit(Libc.RlimitNoFile, in raised) >= 0)
                {
                    limit = raised;
                }
            }

            return limit.Current > long.MaxValue ? long.MaxValue : (long)limit.Current;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Sessions that fit below <paramref name="limit"/> (null = no known limit) beside
    /// <paramref name="pipes"/> splice pipes (two descriptors each).
    /// </summary>
    public static int MaxSessions(long? limit, int pipes = 0) =>
        limit is not { } l ? int.MaxValue : (int)Math.Clamp((l - Reserve - (2L * pipes)) / 2, 16, int.MaxValue);

    /// <summary>
    /// Splice pipes for bulk relays (<see cref="Transport.Epoll.PipePool"/>): one per 64 descriptors of the limit,
    /// at most 64, none without a known limit. A bulk direction that finds none free copies instead.
    /// </summary>
    public static int SplicePipes(long? limit) => limit is not { } l ? 0 : (int)Math.Clamp(l / 64, 0, 64);

    /// <summary>
    /// One worker's share of <paramref name="limit"/> among <paramref name="workers"/>: the reserve
    /// once, the rest split evenly, so that the workers' sessions and pipes together stay below
    /// the limit. Null (no known limit) stays null.
    /// </summary>
    public static long? WorkerShare(long? limit, int workers) =>
        limit is not { } l || workers <= 1 ? limit : Reserve + (Math.Max(l - Reserve, 0) / workers);
}
