using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Set-BalanceChannel: changes a channel's connection limit (the shell's <c>maxc</c>), points a
/// disabled channel at a new back-end (the shell's <c>assign</c>), and sets its own health check
/// settings (the shell's <c>check</c>) and its weight (the shell's <c>weight</c>). Only the parameters given change.
/// </summary>
[Cmdlet(VerbsCommon.Set, "BalanceChannel", SupportsShouldProcess = true, DefaultParameterSetName = IdentitySet)]
[OutputType(typeof(BalanceChannel))]
public sealed class SetBalanceChannelCommand : ChannelCommandBase
{
    /// <summary>0 = unlimited.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxConnections { get; set; }

    /// <summary><c>host[:port]</c>; the port defaults to the channel's current back-end port.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    /// <summary>
    /// The channel's share of new clients under weighted policies; 0 takes none. Binds by property
    /// name in the Identity set (rows of Import-Csv); piped channel objects never set it by accident.
    /// </summary>
    [Parameter(ParameterSetName = IdentitySet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = InputObjectSet)]
    [ValidateRange(0, ControlClient.MaxWeight)]
    public int Weight { get; set; }

    /// <summary>Seconds between this channel's active checks; 0 = the instance's interval.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public double CheckInterval { get; set; }

    /// <summary>This channel's rise; 0 = the instance's.</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int Rise { get; set; }

    /// <summary>This channel's fall; 0 = the instance's.</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int Fall { get; set; }

    /// <summary>The port the checks connect to; 0 = the channel's port.</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int CheckPort { get; set; }

    private static readonly string[] CheckParameters = [nameof(CheckInterval), nameof(Rise), nameof(Fall), nameof(CheckPort)];

    private bool ChangesChecks => CheckParameters.Any(MyInvocation.BoundParameters.ContainsKey);

    private bool ChangesWeight => MyInvocation.BoundParameters.ContainsKey(nameof(Weight));

    private bool ChangesSomething => MyInvocation.BoundParameters.ContainsKey(nameof(MaxConnections)) || Destination is not null || ChangesChecks || ChangesWeight;

    private protected override string Action
    {
        get
        {
            var parts = new List<string>();
            if (MyInvocation.BoundParameters.ContainsKey(nameof(MaxConnections)))
            {
                parts.Add("set the connection limit to " + MaxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (MyInvocation.BoundParameters.ContainsKey(nameof(Destination)))
            {
                parts.Add("assign the destination " + Destination);
            }

            if (ChangesChecks)
            {
                parts.Add("set its own check settings");
            }

            if (ChangesWeight)
            {
                parts.Add("set the weight to " + Weight.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            return parts.Count == 0 ? "Change nothing" : string.Join(" and ", parts);
        }
    }

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        // -Weight may still come from the pipeline: then each record is checked as it comes.
        if (!MyInvocation.ExpectingInput)
        {
            RequireSomethingToChange();
        }

        if (Destination is not null)
        {
            try
            {
                // A malformed destination is the caller's mistake for every channel: stop before touching any.
                ChannelSpec.Parse(Destination, 1);
            }
            catch (ConfigurationException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, ErrorIds.InvalidAddress, ErrorCategory.InvalidArgument, Destination));
            }
        }
    }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        RequireSomethingToChange();
        base.ProcessRecord();
    }

    private void RequireSomethingToChange()
    {
        if (!ChangesSomething)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("Set-BalanceChannel changes nothing without -MaxConnections, -Destination, -Weight or a check setting (-CheckInterval, -Rise, -Fall, -CheckPort); give at least one."),
                ErrorIds.NothingToChange,
                ErrorCategory.InvalidArgument,
                null));
        }
    }

    private protected override void Change(ControlClient client, int group, int index)
    {
        if (Destination is not null)
        {
            var current = client.GetChannel(group, index);
            var spec = ChannelSpec.Parse(Destination, current.Port);
            client.Assign(group, index, spec.Host, spec.Port);
        }

        if (MyInvocation.BoundParameters.ContainsKey(nameof(MaxConnections)))
        {
            client.SetMaxConnections(group, index, MaxConnections);
        }

        // An unchanged weight is left alone: a rewrite would rebuild every weighted group's table.
        if (ChangesWeight && client.GetChannel(group, index).Weight != Weight)
        {
            client.SetWeight(group, index, Weight);
        }

        if (ChangesChecks)
        {
            var o = client.GetChannel(group, index).CheckOverrides;
            var bound = MyInvocation.BoundParameters;
            client.SetCheckOverrides(group, index, new ChannelCheckOverrides(
                bound.ContainsKey(nameof(CheckInterval)) ? (int)Math.Round(CheckInterval * 1000) : o.IntervalMs,
                bound.ContainsKey(nameof(Rise)) ? Rise : o.Rise,
                bound.ContainsKey(nameof(Fall)) ? Fall : o.Fall,
                bound.ContainsKey(nameof(CheckPort)) ? CheckPort : o.Port));
        }
    }
}
