namespace Balance.Configuration;

/// <summary>
/// The layout of an instance: its groups in failover order, each with its policy and its channels
/// (address, maxc, weight, admin state, own check settings). What a layout file holds
/// (docs/layout-file.md); counters, health and the instance's options are not part of it.
/// </summary>
public sealed record BalanceLayout
{
    /// <summary>The version this build writes and the only one it reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The first word of a layout file's first line.</summary>
    public const string Magic = "balance-layout";

    /// <summary>A layout of <paramref name="groups"/>, indexed as the instance numbers them (a gap is an empty group).</summary>
    public BalanceLayout(IReadOnlyList<GroupSpec> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Groups = groups;
    }

    /// <summary>Every group up to the last with channels; groups without channels keep the numbering of the ones after them.</summary>
    public IReadOnlyList<GroupSpec> Groups { get; }

    /// <summary>The channels of every group together.</summary>
    public int ChannelCount => Groups.Sum(g => g.Channels.Count);

    /// <summary>The line of each channel in the file it was read from, indexed [group][channel]; empty when not read from a file.</summary>
    internal IReadOnlyList<IReadOnlyList<int>> ChannelLines { get; init; } = [];
}
