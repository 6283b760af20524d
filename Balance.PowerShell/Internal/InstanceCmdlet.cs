using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>
/// The cmdlets that change one instance: its listen port is mandatory and first, and both it and
/// the bind address bind from the pipeline by property name, so any Balance object addresses it.
/// </summary>
public abstract class InstanceCmdlet : AddressedCmdlet
{
    /// <summary>Listen port of the Balance instance; tab completion offers the running instances' ports.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int Port { get; set; }
}
