using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Enable-BalanceChannel: lets the engine select a channel again (the shell's <c>enable</c>).</summary>
[Cmdlet(VerbsLifecycle.Enable, "BalanceChannel", SupportsShouldProcess = true, DefaultParameterSetName = IdentitySet)]
[OutputType(typeof(BalanceChannel))]
public sealed class EnableBalanceChannelCommand : ChannelCommandBase
{
    private protected override string Action => "Enable";

    private protected override void Change(ControlClient client, int group, int index)
    {
        if (client.Enable(group, index) == ChannelChange.Unchanged)
        {
            WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0} was already enabled", DescribeChannel(client, group, index)));
        }
    }
}
