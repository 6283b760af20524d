using System.Runtime.InteropServices;
using Balance.Configuration;
using Balance.Proxy;

namespace Balance.CommandLine;

/// <summary>
/// Keeps a started engine running until it stops: by a <c>kill</c> through its control segment,
/// or by SIGINT/SIGTERM/SIGHUP, which stop it gracefully (a second signal closes live sessions at
/// once). The original simply died on these signals and left its state behind.
/// </summary>
internal static class EngineHost
{
    public static int RunUntilStopped(BalanceEngine engine, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            var grace = Interlocked.Increment(ref signals) == 1 ? (TimeSpan?)null : TimeSpan.Zero;
            _ = StopQuietlyAsync(engine, grace);
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
        try
        {
            engine.Completion.GetAwaiter().GetResult();
            return ExitCodes.Ok;
        }
        catch (ConfigurationException e)
        {
            return ErrorReport.Write(error, e.Message, e.ExitCode);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ErrorReport.Write(error, "the proxy stopped on an error: " + e.Message, ExitCodes.Software);
        }
        finally
        {
            engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
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
            // A stop that fails shows up as a faulted Completion, which RunUntilStopped reports.
        }
    }
}
