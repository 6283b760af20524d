using System.Globalization;
using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Add-BalanceChannel: appends back-ends to a group of a running instance (the shell's <c>create</c>).
/// Like the original, a new channel starts disabled unless -Enabled is given.
/// </summary>
[Cmdlet(VerbsCommon.Add, "BalanceChannel", SupportsShouldProcess = true)]
[OutputType(typeof(BalanceChannel))]
public sealed class AddBalanceChannelCommand : InstanceCmdlet
{
    /// <summary>The group the channels join; default 0.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, BalanceConfiguration.LimitMaxGroups - 1)]
    [ArgumentCompleter(typeof(GroupCompleter))]
    public int Group { get; set; }

    /// <summary><c>host[:port[:maxc]]</c>; the port defaults to the listen port, as on the command line.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Destination { get; set; } = [];

    /// <summary>Overrides a maxc given in the destination; 0 = unlimited.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxConnections { get; set; }

    /// <summary>Enables the new channels at once; by default they start disabled, as in the original.</summary>
    [Parameter]
    public SwitchParameter Enabled { get; set; }

    /// <summary>Writes the new channels to the pipeline.</summary>
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

        foreach (var destination in Destination)
        {
            var description = string.Format(CultureInfo.InvariantCulture, "{0} ({1})", DescribeGroup(client, Group), destination);
            try
            {
                var spec = ChannelSpec.Parse(destination, client.Name.Port);
                var maxc = MyInvocation.BoundParameters.ContainsKey(nameof(MaxConnections)) ? MaxConnections : spec.MaxConnections;
                client.GetGroup(Group);
                if (!ShouldProcess(description, Enabled ? "Add an enabled channel" : "Add a disabled channel"))
                {
                    continue;
                }

                var index = client.Create(Group, spec.Host, spec.Port, maxc, Enabled);
                if (spec.Weight != 1)
                {
                    client.SetWeight(Group, index, spec.Weight);
                }
                if (PassThru)
                {
                    WriteObject(new BalanceChannel(client.Name.Port, client.Name.NormalizedAddress, client.GetChannel(Group, index)));
                }
            }
            catch (ConfigurationException e)
            {
                WriteError(new ErrorRecord(e, ErrorIds.InvalidAddress, ErrorCategory.InvalidArgument, destination));
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteFailure(e, description);
            }
        }
    }
}
