using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Set-BalanceChannel: changes a channel's connection limit (the shell's <c>maxc</c>) and/or points a
/// disabled channel at a new back-end (the shell's <c>assign</c>). Only the parameters given change.
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

            return parts.Count == 0 ? "Change nothing" : string.Join(" and ", parts);
        }
    }

    protected override void BeginProcessing()
    {
        if (!MyInvocation.BoundParameters.ContainsKey(nameof(MaxConnections)) && Destination is null)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("Set-BalanceChannel changes nothing without -MaxConnections or -Destination; give one of them (or both)."),
                ErrorIds.NothingToChange,
                ErrorCategory.InvalidArgument,
                null));
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
    }
}
