using Balance.Configuration;
using Balance.Proxy;

namespace Balance.CommandLine;

/// <summary>
/// Keeps a started engine running until it stops — by a <c>kill</c> through its control segment,
/// or by a signal (<see cref="ShutdownSignals"/>) — and turns the way it ended into an exit code.
/// </summary>
internal static class EngineHost
{
    public static int RunUntilStopped(BalanceEngine engine, ShutdownSignals signals, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(signals);
        signals.Attach(engine);
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
}
