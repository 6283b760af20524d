using Balance.Configuration;
using Balance.Control;
using Balance.Metrics;

namespace Balance.CommandLine;

/// <summary>
/// <c>--metrics-file FILE port</c>: the running instance's figures, in the Prometheus text format,
/// written atomically for node_exporter's textfile collector (for instances without an endpoint,
/// from cron or a timer).
/// </summary>
internal static class MetricsFileMode
{
    public static int Run(ParsedCommandLine command, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(command);
        BalanceSnapshot snapshot;
        using (var client = ControlMode.Open(command.Configuration))
        {
            snapshot = client.Snapshot();
        }

        try
        {
            TextfileWriter.Write(command.MetricsFile!, [snapshot]);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ErrorReport.Write(error, $"cannot write {command.MetricsFile}: {e.Message}; check that the folder exists and is writable", ExitCodes.CantCreate);
        }
    }
}
