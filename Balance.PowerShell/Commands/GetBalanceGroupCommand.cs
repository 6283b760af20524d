using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Get-BalanceGroup: the groups (failover tiers) of instances: type and channel count.</summary>
[Cmdlet(VerbsCommon.Get, "BalanceGroup")]
[OutputType(typeof(BalanceGroup))]
public sealed class GetBalanceGroupCommand : InstanceQueryCmdlet
{
    /// <summary>Groups to read, empty ones included when named; default: every group that has channels.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(0, Balance.Configuration.BalanceConfiguration.LimitMaxGroups - 1)]
    [ArgumentCompleter(typeof(GroupCompleter))]
    public int[]? Group { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        foreach (var (instance, client) in OpenEach(PortFilter, BindAddress))
        {
            using (client)
            {
                var groups = Group is null ? client.GetGroups().Select(g => g.Group) : Group;
                foreach (var g in groups)
                {
                    try
                    {
                        WriteObject(new BalanceGroup(instance.Port, instance.BindAddress, client.GetGroup(g)));
                    }
                    catch (ControlException e)
                    {
                        WriteFailure(e, DescribeGroup(client, g));
                    }
                }
            }
        }
    }
}
