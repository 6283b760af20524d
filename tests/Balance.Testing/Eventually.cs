namespace Balance.Tests.Infrastructure;

/// <summary>Bounded polling for state that settles asynchronously (counters after a close).</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        TrueAsync(condition, () => what, timeout);

    /// <summary>As above, with the failure message made at the timeout, so it can tell the state then.</summary>
    public static async Task TrueAsync(Func<bool> condition, Func<string> what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(what);
        if (!await HoldsAsync(() => Task.FromResult(condition()), timeout ?? DefaultTimeout))
        {
            throw new TimeoutException($"timed out waiting for: {what()}");
        }
    }

    /// <summary>
    /// True once <paramref name="condition"/> holds, false when the time is up. The check may
    /// itself be asynchronous (a connect, a child process): it is awaited, so no pool thread is
    /// blocked on it while the engine under test may need the pool to answer.
    /// </summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }
}
