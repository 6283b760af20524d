using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Get-BalanceGroup: the groups (failover tiers) of instances: type and channel count.</summary>
[Cmdlet(VerbsCommon.Get, "BalanceGroup", HelpUri = HelpUriBase + "Get-BalanceGroup.md")]
[OutputType(typeof(BalanceGroup))]
public sealed class GetBalanceGroupCommand : BalanceCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int Port { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? BindAddress { get; set; }

    /// <summary>Groups to read, empty ones included when named; default: every group that has channels.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(0, Balance.Configuration.BalanceConfiguration.LimitMaxGroups - 1)]
    [ArgumentCompleter(typeof(GroupCompleter))]
    public int[]? Group { get; set; }

    protected override void ProcessRecord()
    {
        int? port = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? Port : null;
        IReadOnlyList<InstanceInfo> instances;
        try
        {
            instances = InstanceTarget.List(port, BindAddress);
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteFailure(e, port is { } p ? Describe(p, BindAddress) : BindAddress);
            return;
        }

        foreach (var instance in instances)
        {
            ControlClient client;
            try
            {
                client = ControlClient.Open(instance.BindAddress, instance.Port);
            }
            catch (ControlException)
            {
                continue;
            }

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
