using System.Globalization;
using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;
using Balance.Metrics;
using Balance.Proxy;

namespace Balance.PowerShell;

/// <summary>
/// Restart-Balance: replaces a running instance by a new engine on the same endpoint without
/// dropping a connection (docs/restart.md). The new engine takes over the listening sockets,
/// queued clients and the live layout; the old one stops accepting, drains for its grace period
/// and stops. An instance that is a job of this session is replaced in this process (the old job
/// completes, a new job runs); any other gets a new detached process (balance --takeover).
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "Balance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(BalanceInstance), typeof(BalanceJob))]
public sealed class RestartBalanceCommand : InstanceCmdlet
{
    /// <summary>Workers of the new engine; default: as many as the running one has.</summary>
    [Parameter]
    [ValidateRange(1, BalanceConfiguration.LimitWorkers)]
    public int Workers { get; set; }

    /// <summary>Local address for the new engine's back-end connections (<c>balance -B</c>); the segment does not record the old one's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutboundAddress { get; set; }

    /// <summary>address:port of the new engine's /metrics endpoint; the old engine releases its own at the switch.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MetricsEndpoint { get; set; }

    /// <summary>Text each health check of the new engine sends once connected; the segment does not record the old engine's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CheckSend { get; set; }

    /// <summary>Text a health check's reply must contain on the new engine; the segment does not record the old engine's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CheckExpect { get; set; }

    /// <summary>Writes the replacement to the pipeline: its job when the instance ran in this session, else the instance (its new process id).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        InstanceInfo info;
        TimeSpan grace;
        using (var client = TryOpen(Port, BindAddress))
        {
            if (client is null)
            {
                return;
            }

            info = client.GetInstance();
            grace = client.GracePeriod;
        }

        var endpoint = ChannelSpec.FormatDestination(info.BindAddress, info.Port);
        var what = string.Format(CultureInfo.InvariantCulture, "Replace the Balance instance (process {0}) by a new engine that takes over its connections", info.ProcessId);
        if (!ShouldProcess(endpoint, what) || Settings(info, grace, endpoint) is not { } configuration)
        {
            return;
        }

        try
        {
            if (info.ProcessId == Environment.ProcessId)
            {
                var engine = BalanceEngine.TakeOver(configuration);
                var job = BalanceJobRegistration.Register(JobManager, engine, OriginalCommandLine.Text(configuration) + " --takeover", null);
                WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0}: a new engine took over in this process; job {1} runs it, the old job completes once its sessions end", endpoint, job.Id));
                Emit(job);
                return;
            }

            var replaced = DetachedStarter.TakeOver(configuration, info.ProcessId);
            WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0}: process {1} took over from process {2}", endpoint, replaced.ProcessId, info.ProcessId));
            Emit(new BalanceInstance(replaced));
        }
        catch (Exception e) when (e is ConfigurationException or ControlException or InvalidOperationException)
        {
            WriteError(new ErrorRecord(e, ErrorIds.RestartFailed, ErrorCategory.ResourceUnavailable, new BalanceInstance(info)));
        }
    }

    private void Emit(object replacement)
    {
        if (PassThru)
        {
            WriteObject(replacement);
        }
    }

    /// <summary>The new engine's options; null (an error written) when they cannot be had.</summary>
    private BalanceConfiguration? Settings(InstanceInfo info, TimeSpan grace, string endpoint)
    {
        try
        {
            var metrics = MetricsEndpoint is { } m ? MetricsAddress.Parse(m) : null;
            var configuration = RestartSettings.From(info, grace, Workers > 0 ? Workers : null, OutboundAddress, metrics, new CheckTexts(CheckSend, CheckExpect));
            configuration.Validate();
            return configuration;
        }
        catch (Exception e) when (e is ConfigurationException or InvalidOperationException)
        {
            WriteError(new ErrorRecord(e, ErrorIds.InvalidConfiguration, ErrorCategory.InvalidArgument, endpoint));
            return null;
        }
    }
}
