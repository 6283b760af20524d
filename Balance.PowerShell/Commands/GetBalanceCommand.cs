using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>Get-Balance: the running instances this user can see, however they were started.</summary>
[Cmdlet(VerbsCommon.Get, "Balance", HelpUri = HelpUriBase + "Get-Balance.md")]
[OutputType(typeof(BalanceInstance))]
public sealed class GetBalanceCommand : BalanceCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int Port { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? BindAddress { get; set; }

    protected override void ProcessRecord()
    {
        int? port = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? Port : null;
        foreach (var info in ListInstances(port, BindAddress))
        {
            WriteObject(new BalanceInstance(info));
        }
    }
}
