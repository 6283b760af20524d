using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Export-BalanceCounter: writes the selected channels' counters to a file as MRTG lines, CSV or
/// JSON, for scheduled tasks (cron, Windows Task Scheduler) that feed monitoring tools.
/// </summary>
[Cmdlet(VerbsData.Export, "BalanceCounter", SupportsShouldProcess = true)]
[OutputType(typeof(BalanceCounter))]
public sealed class ExportBalanceCounterCommand : ChannelQueryBase
{
    private readonly List<(BalanceCounter Counter, string Mrtg)> collected = [];

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    [Parameter(Mandatory = true)]
    public ExportFormat Format { get; set; }

    [Parameter]
    public CounterKind Kind { get; set; } = CounterKind.Bytes;

    /// <summary>Csv only: add rows to an existing file (the header is written only to a new or empty file).</summary>
    [Parameter]
    public SwitchParameter Append { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void BeginProcessing()
    {
        if (Append && Format != ExportFormat.Csv)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException(string.Format(CultureInfo.InvariantCulture, "-Append works only with -Format Csv; {0} files are always rewritten whole", Format)),
                ErrorIds.InvalidArgument,
                ErrorCategory.InvalidArgument,
                Format));
        }
    }

    private protected override void Emit(ControlClient client, ChannelInfo channel)
    {
        var counter = new BalanceCounter(client.Name.Port, client.Name.NormalizedAddress, channel, Kind, DateTimeOffset.Now);
        collected.Add((counter, Format == ExportFormat.Mrtg ? ShellBridge.Mrtg(channel, Kind, client.GetInstance().Uptime) : string.Empty));
    }

    protected override void EndProcessing()
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        var action = string.Format(CultureInfo.InvariantCulture, "Write {0} {1} counter record(s) as {2}", collected.Count, Kind, Format);
        if (!ShouldProcess(path, action))
        {
            return;
        }

        try
        {
            CounterFile.Write(path, Format, collected, Append);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            var category = e is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.WriteError;
            ThrowTerminatingError(new ErrorRecord(e, ErrorIds.ExportFailed, category, path));
        }

        if (PassThru)
        {
            WriteObject(collected.Select(c => c.Counter), enumerateCollection: true);
        }
    }
}
