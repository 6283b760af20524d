namespace Balance.Proxy;

/// <summary>
/// A thread started with the engine that waits for the one stop and runs it. Stopping sleeps
/// while sessions drain, so it needs a thread of its own (never the pool: its timing must hold in
/// a busy host), and it needs it most when descriptors run out, when CoreCLR cannot start one
/// (each new thread costs it a pipe). Started early, it costs one idle thread.
/// </summary>
internal sealed class StopThread
{
    private readonly object gate = new();
    private Action? work;
    private bool over;

    public StopThread(string name)
    {
        new Thread(WaitAndRun) { IsBackground = true, Name = name }.Start();
    }

    /// <summary>Runs <paramref name="stop"/> on the thread; only the first call counts. Never starts a thread, never throws.</summary>
    public void Run(Action stop)
    {
        lock (gate)
        {
            if (!over)
            {
                over = true;
                work = stop;
                Monitor.Pulse(gate);
            }
        }
    }

    /// <summary>Ends the thread without a stop (an engine that did not start).</summary>
    public void Cancel() => Run(static () => { });

    private void WaitAndRun()
    {
        Action next;
        lock (gate)
        {
            while (work is null)
            {
                Monitor.Wait(gate);
            }

            next = work;
        }

        next();
    }
}
