using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>
/// The cmdlets that read instances: without a port they read every instance this user can see,
/// with one (first position, or by property name from the pipeline) only that one.
/// </summary>
public abstract class InstanceQueryCmdlet : AddressedCmdlet
{
    /// <summary>Only the instance listening on this port; every instance when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int Port { get; set; }

    /// <summary>The port asked for, or null when none was: 0 is no port, and a default is not a choice.</summary>
    internal int? PortFilter => MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? Port : null;
}
