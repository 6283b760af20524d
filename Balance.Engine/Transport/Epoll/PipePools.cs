namespace Balance.Transport.Epoll;

/// <summary>The splice pipes of every worker seen as one, for diagnostics and tests.</summary>
internal sealed class PipePools
{
    private readonly PipePool[] pools;

    private PipePools(PipePool[] pools)
    {
        this.pools = pools;
    }

    public int Capacity => pools.Sum(p => p.Capacity);

    public int Existing => pools.Sum(p => p.Existing);

    public int InUse => pools.Sum(p => p.InUse);

    public long Rentals => pools.Sum(p => p.Rentals);

    /// <summary>The pools of <paramref name="workers"/> together; null when none has one.</summary>
    public static PipePools? Of(IEnumerable<PipePool?> workers)
    {
        var found = workers.OfType<PipePool>().ToArray();
        return found.Length == 0 ? null : new PipePools(found);
    }

    /// <summary>Every worker copies from now on (<see cref="PipePool.Disable"/>).</summary>
    public void Disable()
    {
        foreach (var pool in pools)
        {
            pool.Disable();
        }
    }
}
