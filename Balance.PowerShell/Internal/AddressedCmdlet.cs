using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>
/// The cmdlets that address an instance by its listen port and, where several instances share
/// the port on different addresses, its bind address. The port is declared by each kind, since
/// whether it is mandatory and where it stands differ; the bind address is the same everywhere
/// and binds from the pipeline by property name, so any Balance object supplies it.
/// </summary>
public abstract class AddressedCmdlet : BalanceCmdlet
{
    /// <summary>The instance's listen address, needed only when several instances share the port.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? BindAddress { get; set; }
}
