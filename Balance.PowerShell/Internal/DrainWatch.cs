using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// The channels a cmdlet waits for at its end, gathered per instance from every pipeline record
/// so that one wait covers them all. It opens its own client per instance, since the pipeline's
/// client closes after each record.
/// </summary>
internal sealed class DrainWatch : IDisposable
{
    private readonly Dictionary<string, DrainTarget> targets = new(StringComparer.Ordinal);

    public bool IsEmpty => targets.Count == 0;

    public void Add(ControlClient client, int group, int index)
    {
        var key = client.Name.Path;
        if (!targets.TryGetValue(key, out var target))
        {
            target = new DrainTarget(ControlClient.Open(client.Name), BalanceCmdlet.DescribeChannel(client, group, index));
            targets.Add(key, target);
        }

        if (target.Channels.Contains((group, index)))
        {
            return;
        }

        target.Channels.Add((group, index));
        if (target.Channels.Count > 1)
        {
            target.What = string.Format(CultureInfo.InvariantCulture, "{0} channels on {1}", target.Channels.Count, ControlSegment.Endpoint(client.Name));
        }
    }

    /// <summary>Waits for every instance at once (see <see cref="DrainWait"/>); with <paramref name="passThru"/> writes the emptied channels as they are now.</summary>
    public void Finish(Cmdlet cmdlet, TimeSpan timeout, bool force, bool disable, bool passThru, CancellationToken cancel, string fix)
    {
        foreach (var target in DrainWait.Finish(cmdlet, targets.Values.ToArray(), timeout, force, disable, cancel, fix))
        {
            foreach (var (group, index) in passThru ? target.Channels : [])
            {
                cmdlet.WriteObject(new BalanceChannel(target.Client.Name.Port, target.Client.Name.NormalizedAddress, target.Client.GetChannel(group, index)));
            }
        }
    }

    public void Dispose()
    {
        foreach (var target in targets.Values)
        {
            target.Client.Dispose();
        }

        targets.Clear();
    }
}
