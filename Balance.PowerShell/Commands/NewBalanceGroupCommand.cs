using System.Management.Automation;
using Balance.Configuration;

namespace Balance.PowerShell;

/// <summary>New-BalanceGroup: describes a group for Start-Balance -Group. Changes nothing.</summary>
[Cmdlet(VerbsCommon.New, "BalanceGroup")]
[OutputType(typeof(BalanceGroupSpec))]
public sealed class NewBalanceGroupCommand : BalanceCmdlet
{
    /// <summary><c>host[:port[:maxc]]</c> words; the separators '!' and '%' belong to Start-Balance -Channel, not here.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[] Channel { get; set; } = [];

    /// <summary>How the group picks a channel; RoundRobin by default.</summary>
    [Parameter(Position = 1)]
    [PolicyWord]
    public GroupType Type { get; set; } = GroupType.RoundRobin;

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var separator = Channel.FirstOrDefault(c => c is "!" or "%");
        if (separator is not null)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException($"'{separator}' separates groups only in Start-Balance -Channel; New-BalanceGroup makes one group: give its type with -Type and pass several groups to Start-Balance -Group"),
                ErrorIds.InvalidChannelList,
                ErrorCategory.InvalidArgument,
                separator));
        }

        try
        {
            WriteObject(new BalanceGroupSpec(Type, Channel));
        }
        catch (ConfigurationException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, ErrorIds.InvalidChannelList, ErrorCategory.InvalidArgument, e.Token));
        }
    }
}
