using System.Globalization;
using Balance.Configuration;
using Balance.Policies;

namespace Balance.CommandLine;

/// <summary>
/// <c>--policy WORD</c> and <c>--policy N=WORD</c> (repeatable): the new group policies on the command
/// line. A plain word applies to every group the channel list leaves round robin (closed by <c>!</c>
/// or by its end); <c>N=WORD</c> sets group N whatever closed it. Without the option <c>!</c> and
/// <c>%</c> mean what they meant in the original.
/// </summary>
internal sealed class PolicyOption
{
    public const string Name = "policy";

    private readonly Dictionary<int, GroupType> byGroup = [];
    private GroupType? forRoundRobinGroups;

    /// <summary>Reads one occurrence; a later one for the same groups wins, as with every option.</summary>
    public void Add(string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals < 0)
        {
            forRoundRobinGroups = Word(value, value);
            return;
        }

        var number = value[..equals];
        if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var group) || group >= BalanceConfiguration.LimitMaxGroups)
        {
            throw Bad(value, $"'{number}' is not a group number; write --policy WORD or --policy GROUP=WORD, e.g. --policy 1=maglev");
        }

        byGroup[group] = Word(value, value[(equals + 1)..]);
    }

    /// <summary>The groups with the policies applied; a group number beyond the list is refused.</summary>
    public IReadOnlyList<GroupSpec> Apply(IReadOnlyList<GroupSpec> groups)
    {
        foreach (var group in byGroup.Keys.Where(g => g >= groups.Count))
        {
            throw Bad(
                string.Create(CultureInfo.InvariantCulture, $"{group}="),
                string.Create(CultureInfo.InvariantCulture, $"group {group} does not exist: the channels form {groups.Count} group(s), numbered from 0"));
        }

        return groups.Select((g, i) => byGroup.TryGetValue(i, out var type) ? g with { Type = type }
            : forRoundRobinGroups is { } all && g.Type == GroupType.RoundRobin ? g with { Type = all }
            : g).ToArray();
    }

    private static GroupType Word(string value, string word) =>
        PolicyCatalog.FindByName(word) is { } policy
            ? (GroupType)policy.Id
            : throw Bad(value, $"'{word}' is not a policy; use one of {PolicyCatalog.Words}");

    private static ConfigurationException Bad(string value, string why) =>
        new($"invalid --policy [{value}]: {why}", "--" + Name, ExitCodes.Usage);
}
