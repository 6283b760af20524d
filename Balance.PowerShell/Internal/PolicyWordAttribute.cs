using System.Management.Automation;
using Balance.Configuration;
using Balance.Policies;

namespace Balance.PowerShell;

/// <summary>
/// Lets a <see cref="GroupType"/> parameter take the shell's policy words too (<c>wrr</c>,
/// <c>leastconn</c>, <c>maglev</c>, <c>rr</c>, <c>hash</c>), so a line typed in the shell and a cmdlet
/// call read alike; names and numbers pass on to the enum's own conversion.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class PolicyWordAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc/>
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        return value is string text && PolicyCatalog.FindByName(text) is { } policy ? (GroupType)policy.Id : inputData;
    }
}
