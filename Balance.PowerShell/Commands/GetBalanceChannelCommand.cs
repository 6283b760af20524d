using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Get-BalanceChannel: channels and their counters (the shell's <c>show</c>, as objects), optionally only those in the given health or admin states.</summary>
[Cmdlet(VerbsCommon.Get, "BalanceChannel")]
[OutputType(typeof(BalanceChannel))]
public sealed class GetBalanceChannelCommand : ChannelQueryBase
{
    /// <summary>Only channels in one of these health states (Unknown, Up, Down).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public ChannelHealth[]? Health { get; set; }

    /// <summary>Only channels in one of these admin states (Enabled, Disabled, Draining).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public ChannelAdminState[]? AdminState { get; set; }

    private protected override void Emit(ControlClient client, ChannelInfo channel)
    {
        if ((Health is null || Health.Contains(channel.Health)) && (AdminState is null || AdminState.Contains(channel.AdminState)))
        {
            WriteObject(new BalanceChannel(client.Name.Port, client.Name.NormalizedAddress, channel));
        }
    }
}
