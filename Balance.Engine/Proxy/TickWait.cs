namespace Balance.Proxy;

/// <summary>
/// Lets one waiter (a worker's listener) go on at the worker's next sweeper tick. Out of
/// descriptors the runtime cannot start a thread (each costs it a pipe), so a Task.Delay there
/// can throw or never end; the tick runs on the transport's own loop and needs neither. The
/// waiter resumes inline on the ticking thread.
/// </summary>
internal sealed class TickWait
{
    private TaskCompletionSource? waiter;

    /// <summary>Completes at the next tick.</summary>
    public Task NextAsync()
    {
        var next = new TaskCompletionSource();
        var previous = Interlocked.Exchange(ref waiter, next);
        previous?.TrySetResult();
        return next.Task;
    }

    /// <summary>The tick: lets the waiter go on.</summary>
    public void Release() => Interlocked.Exchange(ref waiter, null)?.TrySetResult();
}
