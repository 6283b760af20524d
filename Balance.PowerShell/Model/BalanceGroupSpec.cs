using Balance.Configuration;

namespace Balance.PowerShell;

/// <summary>
/// A group to start with, made by New-BalanceGroup. It keeps the channel words as written: a
/// channel without a port takes the listen port, which is only known when Start-Balance runs.
/// </summary>
public sealed class BalanceGroupSpec
{
    internal BalanceGroupSpec(GroupType type, IEnumerable<string> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        Type = type;
        Channel = channels.ToArray();
        foreach (var word in Channel)
        {
            // Fails early, naming the word; the port given here is a placeholder for "listen port".
            ChannelSpec.Parse(word, 1);
        }
    }

    /// <summary>How the group will pick a channel.</summary>
    public GroupType Type { get; }

    /// <summary>The channel words as written (<c>host[:port[:maxc]]</c>).</summary>
    public IReadOnlyList<string> Channel { get; }

    internal GroupSpec ToGroupSpec(int listenPort) =>
        new(Type, Channel.Select(c => ChannelSpec.Parse(c, listenPort)).ToArray());

    /// <inheritdoc/>
    public override string ToString() => string.Join(' ', Channel) + Type switch
    {
        GroupType.RoundRobin => string.Empty,
        GroupType.Hash => " %",
        _ => " (" + Type + ")",
    };
}
