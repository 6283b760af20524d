using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Reset-BalanceChannel: zeroes a channel's total, failure and byte counters (the shell's <c>reset</c>).</summary>
[Cmdlet(VerbsCommon.Reset, "BalanceChannel", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = IdentitySet)]
[OutputType(typeof(BalanceChannel))]
public sealed class ResetBalanceChannelCommand : ChannelCommandBase
{
    private protected override string Action => "Reset the counters";

    private protected override void Change(ControlClient client, int group, int index) => client.ResetCounters(group, index);
}
