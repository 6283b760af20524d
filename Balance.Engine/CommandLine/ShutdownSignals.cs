using System.Runtime.InteropServices;
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
    private readonly PosixSignalRegistration[] registrations;
    private BalanceEngine? engine;
    private int received;

    public ShutdownSignals()
    {
        registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal),
        ];
    }

    /// <summary>From now on signals stop <paramref name="started"/>; one that came earlier does so now.</summary>
    public void Attach(BalanceEngine started)
    {
        ArgumentNullException.ThrowIfNull(started);
        Interlocked.Exchange(ref engine, started);
        var count = Volatile.Read(ref received);
        if (count > 0)
        {
            _ = StopQuietlyAsync(started, count == 1 ? null : TimeSpan.Zero);
        }
    }

    public void Dispose()
    {
        foreach (var registration in registrations)
        {
            registration.Dispose();
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        var count = Interlocked.Increment(ref received);
        if (Volatile.Read(ref engine) is { } target)
        {
            _ = StopQuietlyAsync(target, count == 1 ? null : TimeSpan.Zero);
        }
    }

    private static async Task StopQuietlyAsync(BalanceEngine engine, TimeSpan? grace)
    {
        try
        {
            await engine.StopAsync(grace).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A stop that fails shows up as a faulted Completion, which EngineHost reports.
        }
    }
}
