using System.Globalization;
using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Set-BalanceGroup: sets a group's policy, the original's round robin and client-address hash (the
/// shell's <c>rr</c> and <c>hash</c>) or a new one (<c>wrr</c>, <c>leastconn</c>, <c>maglev</c>).
/// </summary>
[Cmdlet(VerbsCommon.Set, "BalanceGroup", SupportsShouldProcess = true)]
[OutputType(typeof(BalanceGroup))]
public sealed class SetBalanceGroupCommand : InstanceCmdlet
{
    /// <summary>The groups to change.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(0, BalanceConfiguration.LimitMaxGroups - 1)]
    [ArgumentCompleter(typeof(GroupCompleter))]
    public int[] Group { get; set; } = [];

    /// <summary>A <see cref="GroupType"/> name (completed) or the shell's word for it.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [PolicyWord]
    public GroupType Type { get; set; }

    /// <summary>Writes the changed groups to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        using var client = TryOpen(Port, BindAddress);
        if (client is null)
        {
            return;
        }

        foreach (var g in Group)
        {
            var description = DescribeGroup(client, g);
            try
            {
                client.GetGroup(g);
                if (!ShouldProcess(description, string.Format(CultureInfo.InvariantCulture, "Set the group type to {0}", Type)))
                {
                    continue;
                }

                client.SetGroupType(g, Type);
                if (PassThru)
                {
                    WriteObject(new BalanceGroup(client.Name.Port, client.Name.NormalizedAddress, client.GetGroup(g)));
                }
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteFailure(e, description);
            }
        }
    }
}
