namespace Balance.Proxy;

/// <summary>
/// Lets one notice through per episode, among all the workers of an engine: a shortage that
/// every worker's listener meets is one line, not one per worker.
/// </summary>
internal sealed class NoticeGate
{
    private readonly long gapMs;
    private long last;

    public NoticeGate(long gapMs)
    {
        this.gapMs = gapMs;
        last = -gapMs;
    }

    /// <summary>True for the first caller once <c>gapMs</c> has passed since the last notice let through.</summary>
    public bool TryPass()
    {
        var now = Environment.TickCount64;
        var seen = Volatile.Read(ref last);
        return now - seen > gapMs && Interlocked.CompareExchange(ref last, now, seen) == seen;
    }
}
