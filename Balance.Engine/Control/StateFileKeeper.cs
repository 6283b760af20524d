using Balance.Configuration;

namespace Balance.Control;

/// <summary>
/// Keeps a <c>--state-file</c> current (like haproxy's server-state-file, but written by the engine
/// itself): the engine's tick compares a fingerprint of the layout fields in the segment, and a
/// change is written atomically on a pool thread, never on a relay loop, at most once per
/// <see cref="MinimumSpacing"/>. A failed write is reported once as an event and retried.
/// </summary>
internal sealed class StateFileKeeper
{
    /// <summary>Bounds the writes a burst of changes (a script enabling 50 channels) costs.</summary>
    public static readonly TimeSpan MinimumSpacing = TimeSpan.FromSeconds(1);

    private static readonly long CheckEveryMs = 100;

    private readonly ControlSegment segment;
    private readonly string path;
    private readonly Action<string> report;
    private long lastCheck;
    private long lastWrite = long.MinValue / 2;
    private long written;
    private int writing;
    private bool failing;

    /// <param name="segment">The engine's segment.</param>
    /// <param name="path">The state file, absolute.</param>
    /// <param name="report">Hears of a failed write (the engine publishes it as an event).</param>
    public StateFileKeeper(ControlSegment segment, string path, Action<string> report)
    {
        this.segment = segment;
        this.path = path;
        this.report = report;
    }

    /// <summary>On the engine's tick: starts a write when the layout changed and the spacing allows.</summary>
    public void Tick()
    {
        var now = Environment.TickCount64;
        if (now - lastCheck < CheckEveryMs || Volatile.Read(ref writing) != 0)
        {
            return;
        }

        lastCheck = now;
        var fingerprint = Fingerprint();
        if (fingerprint == Volatile.Read(ref written) || now - lastWrite < (long)MinimumSpacing.TotalMilliseconds)
        {
            return;
        }

        lastWrite = now;
        Volatile.Write(ref writing, 1);
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Write(), this, preferLocal: false);
    }

    /// <summary>Writes now, on the caller's thread, when the file is behind: the engine's last act before it lets go of the segment.</summary>
    public void Flush()
    {
        var deadline = Environment.TickCount64 + 5000;
        while (Volatile.Read(ref writing) != 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(10);
        }

        if (Fingerprint() != Volatile.Read(ref written))
        {
            Volatile.Write(ref writing, 1);
            Write();
        }
    }

    private void Write()
    {
        try
        {
            // Taken before the read: a change during the read makes the next tick write again.
            var fingerprint = Fingerprint();
            LiveLayout.Save(ControlClient.ForEngine(segment), path);
            Volatile.Write(ref written, fingerprint);
            failing = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ControlException or ArgumentException)
        {
            if (!failing)
            {
                report($"cannot write the state file {path}: {e.Message}; retrying on the next change");
            }

            failing = true;
        }
        finally
        {
            Volatile.Write(ref writing, 0);
        }
    }

    /// <summary>Every field a layout file holds, folded into one number; the change version covers addresses.</summary>
    private long Fingerprint()
    {
        var hash = new HashCode();
        hash.Add(Volatile.Read(ref segment.Header.ChangeVersion));
        for (var g = 0; g < segment.MaxGroups; g++)
        {
            var count = segment.ChannelCount(g);
            hash.Add(count);
            if (count == 0)
            {
                continue;
            }

            hash.Add(segment.PolicyOf(g));
            for (var c = 0; c < count; c++)
            {
                ref var r = ref segment.Record(g, c);
                hash.Add(Volatile.Read(ref r.AdminState));
                hash.Add(Volatile.Read(ref r.Weight));
                hash.Add(Volatile.Read(ref r.MaxConnections));
                hash.Add(HashCode.Combine(Volatile.Read(ref r.CheckIntervalMs), Volatile.Read(ref r.Rise), Volatile.Read(ref r.Fall), Volatile.Read(ref r.CheckPort)));
            }
        }

        // Never 0, the value of "nothing written yet".
        return ((long)hash.ToHashCode() << 1) | 1;
    }
}
