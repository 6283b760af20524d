using Balance.Control;

namespace Balance.Policies;

/// <summary>
/// Consistent hashing with a Maglev table (<see cref="MaglevTable"/>), keyed by the client's address
/// key and honouring weights. The table is built from every channel of the group when the change
/// version moves and stays as it is while channels come and go: a client whose slot names an unusable
/// channel (down, disabled, draining, at maxc, weight 0) probes further slots, a fixed sequence of
/// its own key, until one names a usable channel. So only that channel's clients move, spread in
/// proportion to the others' weights, and they come back when it does.
/// </summary>
public sealed class MaglevPolicy : IBalancingPolicy
{
    // Probes before the rendezvous fallback; with a fifth of the weight usable, 0.8^64 of clients get there.
    private const int MaxProbes = 64;

    private readonly int[] ids;
    private readonly int[] weights;
    private readonly ushort[] table;

    private MaglevPolicy(int[] ids, int[] weights)
    {
        this.ids = ids;
        this.weights = weights;
        table = MaglevTable.Build(ids, weights);
    }

    /// <summary>The catalog's entry, built for no channels: the walk asks it for each group's own (<see cref="ForGroup"/>).</summary>
    public static MaglevPolicy Instance { get; } = new([], []);

    /// <inheritdoc/>
    public int Id => PolicyCatalog.Maglev;

    /// <inheritdoc/>
    public string Name => "Maglev";

    /// <inheritdoc/>
    public string ShowName => "Magl";

    /// <inheritdoc/>
    public string Word => "maglev";

    /// <summary>Slots in the lookup table (0 before it is built for a group).</summary>
    public int TableSize => table.Length;

    /// <inheritdoc/>
    public bool ScansGroup(bool hashFailover) => true;

    /// <summary>
    /// A group's policy over channels with these stable ids and weights. A weight of 0 is built in
    /// as 1, so setting it moves only that channel's clients in a group of weight-1 channels; a
    /// weight above <see cref="ControlClient.MaxWeight"/> counts as that.
    /// </summary>
    public IBalancingPolicy ForGroup(ReadOnlySpan<ChannelCandidate> channels, IBalancingPolicy? previous)
    {
        var newIds = new int[channels.Length];
        var newWeights = new int[channels.Length];
        for (var c = 0; c < channels.Length; c++)
        {
            newIds[c] = channels[c].Id;
            newWeights[c] = Math.Clamp(channels[c].Weight, 1, ControlClient.MaxWeight);
        }

        return previous is MaglevPolicy built && built.ids.AsSpan().SequenceEqual(newIds) && built.weights.AsSpan().SequenceEqual(newWeights)
            ? built
            : new MaglevPolicy(newIds, newWeights);
    }

    /// <inheritdoc/>
    public int Pick(ReadOnlySpan<ChannelCandidate> channels, ref PickContext context)
    {
        if (table.Length == 0)
        {
            return -1;
        }

        var key = context.ClientKey;
        var channel = (int)table[(int)(key % (uint)table.Length)];
        if (IsUsable(channels, channel))
        {
            return channel;
        }

        var probe = key;
        for (var attempt = 0; attempt < MaxProbes; attempt++)
        {
            probe = Mixing.Mix(probe + Mixing.ProbeStep);
            channel = table[(int)(probe % (uint)table.Length)];
            if (IsUsable(channels, channel))
            {
                return channel;
            }
        }

        return Rendezvous(channels, key);
    }

    /// <inheritdoc/>
    public void Reserved(int chosen, int channelCount, ref PickContext context)
    {
    }

    /// <inheritdoc/>
    public void NothingReserved(int channelCount, ref PickContext context)
    {
    }

    private static bool IsUsable(ReadOnlySpan<ChannelCandidate> channels, int channel) =>
        (uint)channel < (uint)channels.Length && channels[channel].Usable;

    // When almost no weight is usable: the usable channel with the highest score of (key, id), which
    // still depends only on the client and the channel list.
    private static int Rendezvous(ReadOnlySpan<ChannelCandidate> channels, ulong key)
    {
        var best = -1;
        ulong bestScore = 0;
        for (var c = 0; c < channels.Length; c++)
        {
            if (!channels[c].Usable)
            {
                continue;
            }

            var score = Mixing.Mix(key ^ (uint)channels[c].Id);
            if (best < 0 || score > bestScore)
            {
                best = c;
                bestScore = score;
            }
        }

        return best;
    }
}
