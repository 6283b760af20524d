using System.Globalization;
using Balance.Control;
using Balance.Proxy;

namespace Balance.CommandLine;

/// <summary>A fresh start or, with <c>--takeover</c>, the replacement of the running instance (docs/restart.md).</summary>
internal static class EngineLaunch
{
    public static BalanceEngine Start(ParsedCommandLine command, EngineOutput output)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.Takeover
            ? BalanceEngine.TakeOver(command.Configuration, output)
            : BalanceEngine.Start(command.Configuration, output);
    }

    /// <summary>The line a takeover prints on success: who serves the endpoint now.</summary>
    public static void ReportTakeover(ParsedCommandLine command, BalanceEngine engine, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(output);
        if (command.Takeover)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"balance: pid {engine.ProcessId} took over {ControlSegment.Endpoint(engine.Name)}"));
            output.Flush();
        }
    }
}
