namespace Balance.Configuration;

/// <summary>A failover tier: its channels in order and how it picks among them.</summary>
public sealed record GroupSpec(GroupType Type, IReadOnlyList<ChannelSpec> Channels)
{
    /// <summary>
    /// Splits the original's channel word list into groups: <c>!</c> closes a round-robin group,
    /// <c>%</c> a hash group, the last group is round robin unless a trailing <c>%</c> closes it.
    /// </summary>
    public static IReadOnlyList<GroupSpec> ParseList(IEnumerable<string> words, int listenPort)
    {
        ArgumentNullException.ThrowIfNull(words);
        var groups = new List<GroupSpec>();
        var current = new List<ChannelSpec>();
        var any = false;
        foreach (var word in words)
        {
            any = true;
            if (word is "!" or "%")
            {
                if (current.Count == 0)
                {
                    throw new ConfigurationException(
                        $"no channels in group {groups.Count}: '{word}' must follow at least one channel",
                        word,
                        ExitCodes.Unavailable);
                }

                groups.Add(new GroupSpec(word == "%" ? GroupType.Hash : GroupType.RoundRobin, current.ToArray()));
                current.Clear();
                continue;
            }

            current.Add(ChannelSpec.Parse(word, listenPort));
        }

        if (current.Count > 0 || (!any && groups.Count == 0))
        {
            groups.Add(new GroupSpec(GroupType.RoundRobin, current.ToArray()));
        }

        return groups;
    }
}
