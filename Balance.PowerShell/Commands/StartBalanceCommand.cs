using System.Globalization;
using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;
using Balance.Proxy;

namespace Balance.PowerShell;

/// <summary>
/// Start-Balance: starts a proxy. By default the engine runs in this process as a job
/// (<see cref="BalanceJob"/>); with -Detached it runs in a process of its own that outlives the
/// session, and a <see cref="BalanceInstance"/> is returned.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Balance", SupportsShouldProcess = true, DefaultParameterSetName = ChannelSet)]
[OutputType(typeof(BalanceJob), ParameterSetName = [ChannelSet, GroupSet, LayoutSet])]
[OutputType(typeof(BalanceInstance), ParameterSetName = [ChannelDetachedSet, GroupDetachedSet, LayoutDetachedSet])]
public sealed class StartBalanceCommand : BalanceCmdlet
{
    private const string ChannelSet = "Channel";
    private const string GroupSet = "Group";
    private const string ChannelDetachedSet = "ChannelDetached";
    private const string GroupDetachedSet = "GroupDetached";
    private const string LayoutSet = "Layout";
    private const string LayoutDetachedSet = "LayoutDetached";

    /// <summary>The port clients connect to; also the port of a channel written without one.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    /// <summary>Back-ends as on the command line: <c>host[:port[:maxc]]</c> words, '!' or '%' closing a group.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ChannelSet)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ChannelDetachedSet)]
    [ValidateNotNullOrEmpty]
    public string[] Channel { get; set; } = [];

    /// <summary>Type of the single group -Channel describes (no '!' or '%' in it).</summary>
    [Parameter(ParameterSetName = ChannelSet)]
    [Parameter(ParameterSetName = ChannelDetachedSet)]
    [PolicyWord]
    public GroupType Type { get; set; }

    /// <summary>Groups made by New-BalanceGroup, in failover order.</summary>
    [Parameter(Mandatory = true, ParameterSetName = GroupSet)]
    [Parameter(Mandatory = true, ParameterSetName = GroupDetachedSet)]
    [ValidateNotNullOrEmpty]
    public BalanceGroupSpec[] Group { get; set; } = [];

    /// <summary>A layout file (Save-BalanceLayout, the shell's save) that gives the groups and channels, checked whole before anything starts.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LayoutSet)]
    [Parameter(Mandatory = true, ParameterSetName = LayoutDetachedSet)]
    [ValidateNotNullOrEmpty]
    public string LayoutPath { get; set; } = string.Empty;

    /// <summary>A layout file the engine keeps current with every change; when it exists, the instance starts from it instead of -Channel, -Group or -LayoutPath.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateFile { get; set; }

    /// <summary>Address to listen on (<c>balance -b</c>); default every IPv4 address (every address with -IPv6).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BindAddress { get; set; }

    /// <summary>Local address for the connections to the back-ends (<c>balance -B</c>).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutboundAddress { get; set; }

    /// <summary>Seconds per back-end connect attempt.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int ConnectTimeout { get; set; } = 5;

    /// <summary>Seconds without traffic after which a session is closed; 0 = never.</summary>
    [Parameter]
    [ValidateRange(0, 2073600)]
    public int IdleTimeout { get; set; }

    /// <summary>address:port of the /metrics and status-page endpoint (off unless given), e.g. 127.0.0.1:9100.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MetricsEndpoint { get; set; }

    /// <summary>Disables a channel whose connect fails, until it is enabled again (<c>balance -a</c>).</summary>
    [Parameter]
    public SwitchParameter AutoDisable { get; set; }

    /// <summary>Workers relaying connections, each with its own loop (balance --workers); 0 = one per CPU the process may run on.</summary>
    [Parameter]
    [ValidateRange(0, BalanceConfiguration.LimitWorkers)]
    public int Workers { get; set; }

    /// <summary>In a hash group, tries the next channels when the hashed one cannot serve (<c>balance -H</c>).</summary>
    [Parameter]
    public SwitchParameter HashFailover { get; set; }

    /// <summary>Listens on IPv6 (<c>balance -6</c>): dual stack without -BindAddress, IPv6 only with it.</summary>
    [Parameter]
    public SwitchParameter IPv6 { get; set; }

    /// <summary>The job's name; default <c>Balance@</c> and the endpoint, so jobs on one port but different addresses differ.</summary>
    [Parameter(ParameterSetName = ChannelSet)]
    [Parameter(ParameterSetName = GroupSet)]
    [Parameter(ParameterSetName = LayoutSet)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Seconds between active checks of each channel (0.01 to 3600); without it no active checks run.</summary>
    [Parameter]
    [ValidateRange(0.01, 3600)]
    public double CheckInterval { get; set; }

    /// <summary>Seconds one check may take; default 2 or the interval if shorter.</summary>
    [Parameter]
    [ValidateRange(0.001, 3600)]
    public double CheckTimeout { get; set; }

    /// <summary>Passed checks in a row that bring a down channel up (default 2).</summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int Rise { get; set; } = 2;

    /// <summary>Failed checks in a row that take a channel down (default 3).</summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int Fall { get; set; } = 3;

    /// <summary>Text each check sends once connected.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CheckSend { get; set; }

    /// <summary>Text the reply must contain for the check to pass.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CheckExpect { get; set; }

    /// <summary>Failed client connects in a row that take a channel down (passive checks); 0 = off.</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int MaxFails { get; set; }

    /// <summary>Seconds passive checks keep a channel down before clients try it again (default 10).</summary>
    [Parameter]
    [ValidateRange(0.001, 3600)]
    public double FailTimeout { get; set; } = 10;

    /// <summary>Runs the engine in a process of its own that outlives the session, and returns the instance instead of a job.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ChannelDetachedSet)]
    [Parameter(Mandatory = true, ParameterSetName = GroupDetachedSet)]
    [Parameter(Mandatory = true, ParameterSetName = LayoutDetachedSet)]
    public SwitchParameter Detached { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var configuration = BuildConfiguration();
        var endpoint = ChannelSpec.FormatDestination(BindAddress ?? (IPv6 ? "::" : "0.0.0.0"), Port);
        if (Detached)
        {
            if (ShouldProcess(endpoint, "Start a detached Balance process"))
            {
                StartDetached(configuration);
            }

            return;
        }

        if (ShouldProcess(endpoint, "Start a Balance engine as a job of this session"))
        {
            StartJob(configuration);
        }
    }

    private BalanceConfiguration BuildConfiguration()
    {
        try
        {
            var configuration = new BalanceConfiguration
            {
                Port = Port,
                BindAddress = BindAddress,
                OutboundAddress = OutboundAddress,
                IPv6 = IPv6,
                ConnectTimeout = TimeSpan.FromSeconds(ConnectTimeout),
                IdleTimeout = TimeSpan.FromSeconds(IdleTimeout),
                AutoDisable = AutoDisable,
                HashFailover = HashFailover,
                Workers = Workers,
                MetricsEndpoint = MetricsEndpoint is null ? null : Metrics.MetricsAddress.Parse(MetricsEndpoint),
                Checks = Checks(),
                Groups = StartLayout.Groups(this, Groups),
                StateFile = StateFile is null ? null : GetUnresolvedProviderPathFromPSPath(StateFile),
            }.WithLimitsSized();
            configuration.Validate();
            return configuration;
        }
        catch (ConfigurationException e)
        {
            ThrowTerminatingError(StartLayout.IsFileError(e)
                ? new ErrorRecord(e, ErrorIds.InvalidLayoutFile, e.ExitCode == ExitCodes.NoInput ? ErrorCategory.ReadError : ErrorCategory.InvalidData, e.Token)
                : new ErrorRecord(e, ErrorIds.InvalidConfiguration, ErrorCategory.InvalidArgument, e.Token));
            throw;
        }
    }

    /// <summary>-LayoutPath as a file system path, or null when the channels come from -Channel or -Group.</summary>
    internal string? LayoutFilePath => ParameterSetName is LayoutSet or LayoutDetachedSet ? GetUnresolvedProviderPathFromPSPath(LayoutPath) : null;

    private HealthCheckOptions Checks() => new()
    {
        Interval = TimeSpan.FromSeconds(CheckInterval),
        Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(CheckTimeout)) ? TimeSpan.FromSeconds(CheckTimeout) : null,
        Rise = Rise,
        Fall = Fall,
        Send = CheckSend,
        Expect = CheckExpect,
        MaxFails = MaxFails,
        FailTimeout = TimeSpan.FromSeconds(FailTimeout),
    };

    private IReadOnlyList<GroupSpec> Groups()
    {
        if (ParameterSetName is GroupSet or GroupDetachedSet)
        {
            return Group.Select(g => g.ToGroupSpec(Port)).ToArray();
        }

        var groups = GroupSpec.ParseList(Channel, Port);
        if (MyInvocation.BoundParameters.ContainsKey(nameof(Type)))
        {
            if (groups.Count > 1 || Channel.Any(c => c is "!" or "%"))
            {
                throw new ConfigurationException("-Type describes a single group; with '!' or '%' in -Channel the separators give each group its type ('%' = hash), or use -Group with New-BalanceGroup", "-Type");
            }

            groups = [groups[0] with { Type = Type }];
        }

        return groups;
    }

    private void StartJob(BalanceConfiguration configuration)
    {
        BalanceEngine engine;
        try
        {
            engine = BalanceEngine.Start(configuration);
        }
        catch (ConfigurationException e)
        {
            if (e.ExitCode is ExitCodes.OsError or ExitCodes.Unavailable && Holder(configuration) is { } holder)
            {
                // The engine reports a served endpoint as a failed bind; the user needs to know which instance holds it.
                var message = string.Format(
                    CultureInfo.InvariantCulture,
                    "the Balance instance on {0} (process {1}) already holds port {2}; stop it first (Stop-Balance -Port {2} -BindAddress {3}) or choose another port",
                    InstanceTarget.Endpoint(holder.BindAddress, holder.Port),
                    holder.ProcessId,
                    holder.Port,
                    holder.BindAddress);
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(message, e), ErrorIds.AlreadyRunning, ErrorCategory.ResourceExists, configuration.Port));
                return;
            }

            var (id, category) = e.ExitCode switch
            {
                ExitCodes.OsError or ExitCodes.Unavailable or ExitCodes.NoInput or ExitCodes.NoPermission => (ErrorIds.StartFailed, ErrorCategory.ResourceUnavailable),
                _ => (ErrorIds.InvalidConfiguration, ErrorCategory.InvalidArgument),
            };
            ThrowTerminatingError(new ErrorRecord(e, id, category, e.Token ?? configuration.Port.ToString(CultureInfo.InvariantCulture)));
            return;
        }

        // The endpoint in the default name keeps jobs on one port but different addresses apart.
        var name = Name ?? "Balance@" + ControlSegment.Endpoint(engine.Name);
        var command = OriginalCommandLine.Text(configuration, LayoutFilePath);
        BalanceJob job;
        try
        {
            job = new BalanceJob(command, name, engine);
        }
        catch (ControlException e)
        {
            // Without a job nothing would ever stop this engine.
            engine.StopAsync(TimeSpan.Zero).Wait(TimeSpan.FromSeconds(10));
            ThrowTerminatingError(new ErrorRecord(e, ErrorIds.StartFailed, ErrorCategory.ResourceUnavailable, configuration.Port));
            return;
        }


        // ModuleName lets the job manager import the module to find the adapter if it was not registered at import.
        var definition = new JobDefinition(typeof(BalanceJobSourceAdapter), command, name) { ModuleName = "Balance" };
        var parameters = new Dictionary<string, object> { [BalanceJobSourceAdapter.JobParameter] = job };
        JobManager.NewJob(new JobInvocationInfo(definition, parameters));
        job.StartJob();
        WriteObject(job);
    }

    /// <summary>
    /// The running instance whose endpoint overlaps the one asked for: the same address, or either
    /// side a wildcard (0.0.0.0 or ::), on the same port.
    /// </summary>
    private static InstanceInfo? Holder(BalanceConfiguration configuration)
    {
        string wanted;
        try
        {
            wanted = SegmentName.For(configuration.BindAddress, configuration.Port, configuration.IPv6).NormalizedAddress;
        }
        catch (ConfigurationException)
        {
            return null;
        }

        return ControlClient.ListInstances()
            .Where(i => i.Port == configuration.Port && i.State != EngineState.Stopped)
            .FirstOrDefault(i => i.BindAddress == wanted || IsWildcard(i.BindAddress) || IsWildcard(wanted));
    }

    private static bool IsWildcard(string address) => address is "0.0.0.0" or "::";

    private void StartDetached(BalanceConfiguration configuration)
    {
        try
        {
            WriteObject(new BalanceInstance(DetachedStarter.Start(configuration, MyInvocation.MyCommand.Module?.Path, LayoutFilePath)));
        }
        catch (InvalidOperationException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, ErrorIds.DetachedStartFailed, ErrorCategory.InvalidOperation, OriginalCommandLine.Text(configuration)));
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            ThrowTerminatingError(new ErrorRecord(e, ErrorIds.DetachedStartFailed, ErrorCategory.ResourceUnavailable, OriginalCommandLine.Text(configuration)));
        }
    }
}
