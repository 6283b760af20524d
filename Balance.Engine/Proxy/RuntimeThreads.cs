namespace Balance.Proxy;

/// <summary>
/// Threads the runtime starts on first use, started while descriptors are free. Under CoreCLR
/// every new thread costs a pipe; the thread pool's gate thread, started by the pool's first work
/// item, ends the whole process (FailFast, "Failed to create the thread pool Gate thread") when it
/// cannot start. Once started it stays, so a work item at start settles it.
/// </summary>
internal static class RuntimeThreads
{
    public static void StartPool() => ThreadPool.UnsafeQueueUserWorkItem(static _ => { }, (object?)null);
}
