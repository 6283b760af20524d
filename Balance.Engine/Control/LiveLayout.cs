using Balance.Configuration;

namespace Balance.Control;

/// <summary>The layout of a running instance read through its <see cref="ControlClient"/>: what <c>save</c> and Save-BalanceLayout write.</summary>
public static class LiveLayout
{
    /// <summary>
    /// Every group up to the last with channels, with its policy and channels. Read field by field
    /// from the live segment: a change made while it reads lands in this save or the next.
    /// </summary>
    public static BalanceLayout Read(ControlClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        var groups = new List<GroupSpec>();
        foreach (var group in client.GetGroups())
        {
            while (groups.Count < group.Group)
            {
                groups.Add(new GroupSpec(GroupType.RoundRobin, []));
            }

            var channels = client.GetChannels(group.Group).Select(c => new ChannelSpec(c.Host, c.Port, c.MaxConnections)
            {
                Weight = c.Weight,
                AdminState = c.AdminState,
                CheckOverrides = c.CheckOverrides,
            }).ToArray();
            groups.Add(new GroupSpec((GroupType)group.PolicyId, channels));
        }

        return new BalanceLayout(groups);
    }

    /// <summary>Saves the live layout of <paramref name="client"/>'s instance to <paramref name="path"/> atomically; returns what was saved.</summary>
    public static BalanceLayout Save(ControlClient client, string path, bool overwrite = true)
    {
        ArgumentNullException.ThrowIfNull(client);
        var layout = Read(client);
        LayoutFile.Save(path, layout, ControlSegment.Endpoint(client.Name), overwrite);
        return layout;
    }
}
