using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>
/// The cmdlets that read instances: without a port they read every instance this user can see,
/// with ports (first position, or by property name from the pipeline) only those.
/// </summary>
public abstract class InstanceQueryCmdlet : AddressedCmdlet
{
    /// <summary>Only the instances listening on these ports; every instance when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int[] Port { get; set; } = [];

    /// <summary>The ports asked for, or null when none was: an empty default is not a choice.</summary>
    internal IReadOnlyList<int>? PortFilter => MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? Port : null;
}
