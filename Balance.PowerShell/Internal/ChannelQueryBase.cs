using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Selection shared by the cmdlets that read channels: all instances, or a port, narrowed to a group and indexes.</summary>
public abstract class ChannelQueryBase : InstanceQueryCmdlet
{
    /// <summary>Only channels of this group.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, Balance.Configuration.BalanceConfiguration.LimitMaxGroups - 1)]
    [ArgumentCompleter(typeof(GroupCompleter))]
    public int Group { get; set; }

    /// <summary>Only channels with these indexes; every channel when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(0, Balance.Configuration.BalanceConfiguration.LimitMaxChannelsPerGroup - 1)]
    [ArgumentCompleter(typeof(IndexCompleter))]
    public int[]? Index { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var groupGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Group));
        foreach (var (_, client) in OpenEach(PortFilter, BindAddress))
        {
            using (client)
            {
                Read(client, groupGiven);
            }
        }
    }

    /// <summary>Writes one selected channel.</summary>
    private protected abstract void Emit(ControlClient client, ChannelInfo channel);

    private void Read(ControlClient client, bool groupGiven)
    {
        IReadOnlyList<GroupInfo> groups;
        try
        {
            groups = groupGiven ? [client.GetGroup(Group)] : client.GetGroups();
        }
        catch (ControlException e)
        {
            WriteFailure(e, DescribeGroup(client, Group));
            return;
        }

        foreach (var group in groups)
        {
            if (Index is null)
            {
                foreach (var channel in client.GetChannels(group.Group))
                {
                    Emit(client, channel);
                }

                continue;
            }

            foreach (var index in Index)
            {
                try
                {
                    Emit(client, client.GetChannel(group.Group, index));
                }
                catch (ControlException e)
                {
                    WriteFailure(e, DescribeChannel(client, group.Group, index));
                }
            }
        }
    }
}
