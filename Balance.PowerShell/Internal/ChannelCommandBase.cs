using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Parameters and the per-channel loop shared by the cmdlets that act on existing channels: either
/// channel objects from the pipeline, or Port/BindAddress/Group/Index bound by name or by property
/// name (so Get-BalanceChannel output and imported CSV rows both bind).
/// </summary>
public abstract class ChannelCommandBase : BalanceCmdlet
{
    internal const string IdentitySet = "Identity";
    internal const string InputObjectSet = "InputObject";

    /// <summary>Listen port of the Balance instance; tab completion offers the running instances' ports.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = IdentitySet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int Port { get; set; }

    /// <summary>The instance's listen address, needed only when several instances share the port.</summary>
    [Parameter(ParameterSetName = IdentitySet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? BindAddress { get; set; }

    /// <summary>The group of the channels; default 0.</summary>
    [Parameter(ParameterSetName = IdentitySet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, Balance.Configuration.BalanceConfiguration.LimitMaxGroups - 1)]
    [ArgumentCompleter(typeof(GroupCompleter))]
    public int Group { get; set; }

    /// <summary>The channels' indexes within the group.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = IdentitySet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ValidateRange(0, Balance.Configuration.BalanceConfiguration.LimitMaxChannelsPerGroup - 1)]
    [ArgumentCompleter(typeof(IndexCompleter))]
    public int[] Index { get; set; } = [];

    /// <summary>Channels from Get-BalanceChannel or another channel cmdlet, instead of Port, Group and Index.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    [ValidateNotNull]
    public BalanceChannel[] InputObject { get; set; } = [];

    /// <summary>Writes the changed channels to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var channel in InputObject)
            {
                using var client = TryOpen(channel.Port, channel.BindAddress);
                if (client is not null)
                {
                    Apply(client, channel.Group, channel.Index);
                }
            }

            return;
        }

        using var target = TryOpen(Port, BindAddress);
        if (target is null)
        {
            return;
        }

        foreach (var index in Index)
        {
            Apply(target, Group, index);
        }
    }

    /// <summary>The action's verb phrase for ShouldProcess, e.g. "Disable".</summary>
    private protected abstract string Action { get; }

    /// <summary>True when the cmdlet writes the changed channels itself at the end (a wait over every instance).</summary>
    private protected virtual bool DefersOutput => false;

    /// <summary>Changes one channel; ShouldProcess has already agreed.</summary>
    private protected abstract void Change(ControlClient client, int group, int index);

    private void Apply(ControlClient client, int group, int index)
    {
        var description = DescribeChannel(client, group, index);
        try
        {
            // Checked before asking, so -WhatIf does not claim to change a channel that does not exist.
            client.GetChannel(group, index);
            if (!ShouldProcess(description, Action))
            {
                return;
            }

            Change(client, group, index);
            if (PassThru && !DefersOutput)
            {
                WriteObject(new BalanceChannel(client.Name.Port, client.Name.NormalizedAddress, client.GetChannel(group, index)));
            }
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteFailure(e, description);
        }
    }
}
