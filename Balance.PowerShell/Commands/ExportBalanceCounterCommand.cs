using System.Globalization;
using System.Management.Automation;
using Balance.Control;
using Balance.Metrics;

namespace Balance.PowerShell;

/// <summary>
/// Export-BalanceCounter: writes the selected channels' counters to a file as MRTG lines, CSV,
/// JSON or the Prometheus text format (node_exporter's textfile collector), for scheduled tasks
/// (cron, Windows Task Scheduler) that feed monitoring tools.
/// </summary>
[Cmdlet(VerbsData.Export, "BalanceCounter", SupportsShouldProcess = true)]
[OutputType(typeof(BalanceCounter))]
public sealed class ExportBalanceCounterCommand : ChannelQueryBase
{
    private readonly List<(BalanceCounter Counter, string Mrtg)> collected = [];
    private readonly Dictionary<string, (InstanceInfo Instance, IReadOnlyList<GroupInfo> Groups, List<ChannelInfo> Channels)> instances = new(StringComparer.Ordinal);

    /// <summary>The file to write; rewritten whole unless -Append adds CSV rows.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The file format: Mrtg, Csv, Json or Prometheus.</summary>
    [Parameter(Mandatory = true)]
    public ExportFormat Format { get; set; }

    /// <summary>Which counters to export (Bytes by default); Prometheus writes every figure whatever the kind.</summary>
    [Parameter]
    public CounterKind Kind { get; set; } = CounterKind.Bytes;

    /// <summary>Csv only: add rows to an existing file (the header is written only to a new or empty file).</summary>
    [Parameter]
    public SwitchParameter Append { get; set; }

    /// <summary>Writes the exported counters to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
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
        if (Format == ExportFormat.Prometheus)
        {
            var key = client.Name.Path;
            if (!instances.TryGetValue(key, out var instance))
            {
                instance = (client.GetInstance(), client.GetGroups(), []);
                instances.Add(key, instance);
            }

            instance.Channels.Add(channel);
        }
    }

    /// <inheritdoc/>
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
            if (Format == ExportFormat.Prometheus)
            {
                TextfileWriter.Write(path, instances.Values.Select(i => new BalanceSnapshot(
                    i.Instance,
                    i.Groups.Where(g => i.Channels.Any(c => c.Group == g.Group)).ToArray(),
                    i.Channels)));
            }
            else
            {
                CounterFile.Write(path, Format, collected, Append);
            }
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
