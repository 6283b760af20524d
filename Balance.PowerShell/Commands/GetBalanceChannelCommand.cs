using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Get-BalanceChannel: channels and their counters (the shell's <c>show</c>, as objects).</summary>
[Cmdlet(VerbsCommon.Get, "BalanceChannel")]
[OutputType(typeof(BalanceChannel))]
public sealed class GetBalanceChannelCommand : ChannelQueryBase
{
    private protected override void Emit(ControlClient client, ChannelInfo channel) =>
        WriteObject(new BalanceChannel(client.Name.Port, client.Name.NormalizedAddress, channel));
}
