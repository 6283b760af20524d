using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Disable-BalanceChannel: stops new sessions going to a channel; live sessions continue (the shell's <c>disable</c>).</summary>
[Cmdlet(VerbsLifecycle.Disable, "BalanceChannel", SupportsShouldProcess = true, DefaultParameterSetName = IdentitySet)]
[OutputType(typeof(BalanceChannel))]
public sealed class DisableBalanceChannelCommand : ChannelCommandBase
{
    private protected override string Action => "Disable";

    private protected override void Change(ControlClient client, int group, int index)
    {
        if (client.Disable(group, index) == ChannelChange.Unchanged)
        {
            WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0} was already disabled", DescribeChannel(client, group, index)));
        }
    }
}
