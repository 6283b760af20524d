using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>Get-Balance: the running instances this user can see, however they were started.</summary>
[Cmdlet(VerbsCommon.Get, "Balance")]
[OutputType(typeof(BalanceInstance))]
public sealed class GetBalanceCommand : InstanceQueryCmdlet
{
    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        foreach (var info in ListInstances(PortFilter, BindAddress))
        {
            WriteObject(new BalanceInstance(info));
        }
    }
}
