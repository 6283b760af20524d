using System.Runtime.InteropServices;
using Balance.Interop;
using Balance.Proxy;

namespace Balance.CommandLine;

/// <summary>
/// SIGINT, SIGTERM and SIGHUP stop the engine gracefully; a second signal closes live sessions at
/// once. Registered before the engine starts, so a signal that arrives while it is starting is
/// not lost (nor fatal): the engine is stopped as soon as it is attached. The original simply died
/// on these signals and left its state behind.
/// </summary>
internal sealed class ShutdownSignals : IDisposable
{
    private static bool processOwned;
    private static ShutdownSignals? current;
    private readonly PosixSignalRegistration[] registrations;
    private BalanceEngine? engine;
    private int received;

    public unsafe ShutdownSignals()
    {
        registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal),
        ];

        // The runtime's callback starts a thread per SIGINT or SIGTERM, which fails while the
        // process has no free descriptor (an abort, not a stop); this one runs on the runtime's
        // signal thread and only asks the engine's stop thread to go. Without it, OnSignal serves.
        if (Volatile.Read(ref processOwned))
        {
            Volatile.Write(ref current, this);
            RuntimeSignals.TrySetCallback(&OnRuntimeSignal);
        }
    }

    /// <summary>
    /// Called by the balance executable's entry point only: from now on signals reach this class
    /// through a callback that replaces the runtime's for the whole process, which a host that
    /// runs the engine in-process (PowerShell) must keep.
    /// </summary>
    public static void OwnProcess() => Volatile.Write(ref processOwned, true);

    /// <summary>From now on signals stop <paramref name="started"/>; one that came earlier does so now.</summary>
    public void Attach(BalanceEngine started)
    {
        ArgumentNullException.ThrowIfNull(started);
        Interlocked.Exchange(ref engine, started);
        var count = Volatile.Read(ref received);
        if (count > 0)
        {
            Stop(started, count == 1 ? null : TimeSpan.Zero);
        }
    }

    public void Dispose()
    {
        Interlocked.CompareExchange(ref current, null, this);
        foreach (var registration in registrations)
        {
            registration.Dispose();
        }
    }

    /// <summary>The runtime's signal thread, for every registered signal: nonzero = handled here.</summary>
    [UnmanagedCallersOnly]
    private static int OnRuntimeSignal(int number, PosixSignal signal)
    {
        if (signal is not (PosixSignal.SIGINT or PosixSignal.SIGTERM or PosixSignal.SIGHUP) || Volatile.Read(ref current) is not { } target)
        {
            return 0; // not ours: the runtime's default for it
        }

        try
        {
            target.Receive();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An exception leaving this callback would end the process; a failed stop shows in the engine's Completion.
        }

        return 1;
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Receive();
    }

    private void Receive()
    {
        var count = Interlocked.Increment(ref received);
        if (Volatile.Read(ref engine) is { } target)
        {
            Stop(target, count == 1 ? null : TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Asks for the stop and returns at once. Nothing waits on it here: a continuation would need a
    /// pool thread, which may not start while descriptors are short; a failed stop shows up as a
    /// faulted Completion, which EngineHost reports.
    /// </summary>
    private static void Stop(BalanceEngine engine, TimeSpan? grace) => _ = engine.StopAsync(grace);
}
