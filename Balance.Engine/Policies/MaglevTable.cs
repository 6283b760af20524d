namespace Balance.Policies;

/// <summary>
/// A Maglev lookup table (Eisenbud et al., NSDI 2016): a prime number of slots, each naming a
/// channel. Every channel walks its own permutation of the slots (a first slot and a step derived
/// from its stable id alone) and, in turn, takes the next free slot of its walk until the table is
/// full; a channel of weight w takes a turn w times for every w_max turns of the heaviest. Channels
/// take their turns in order of id, so the table depends only on the (id, weight) pairs: positions,
/// processes, workers and start times play no part.
/// </summary>
internal static class MaglevTable
{
    /// <summary>Slots for groups of up to <see cref="SmallLimit"/> channels (prime, 256 per channel at the limit).</summary>
    public const int SmallSize = 65537;

    /// <summary>Slots for larger groups (prime, 160 per channel at 4,096 channels).</summary>
    public const int LargeSize = 655373;

    /// <summary>Most channels a <see cref="SmallSize"/> table serves.</summary>
    public const int SmallLimit = 256;

    private const ushort Empty = ushort.MaxValue;

    /// <summary>The table size for a group of <paramref name="channels"/>.</summary>
    public static int SizeFor(int channels) => channels <= SmallLimit ? SmallSize : LargeSize;

    /// <summary>
    /// The table over channels with <paramref name="ids"/> and <paramref name="weights"/> (indexed by
    /// position; weights at least 1): each slot holds a position. Empty when there is no channel.
    /// </summary>
    public static ushort[] Build(ReadOnlySpan<int> ids, ReadOnlySpan<int> weights)
    {
        var count = ids.Length;
        if (count == 0)
        {
            return [];
        }

        var size = SizeFor(count);
        var order = TurnOrder(ids);
        var next = new int[count];
        var skip = new int[count];
        var credit = new int[count];
        var heaviest = 1;
        for (var c = 0; c < count; c++)
        {
            var h = Mixing.Mix((uint)ids[c] ^ Mixing.OffsetSeed);
            next[c] = (int)(h % (ulong)size);
            skip[c] = (int)(Mixing.Mix(h ^ Mixing.SkipSeed) % (ulong)(size - 1)) + 1;
            heaviest = Math.Max(heaviest, weights[c]);
        }

        var table = new ushort[size];
        table.AsSpan().Fill(Empty);
        var filled = 0;
        while (true)
        {
            foreach (var c in order)
            {
                credit[c] += weights[c];
                if (credit[c] < heaviest)
                {
                    continue;
                }

                credit[c] -= heaviest;
                table[TakeNextFree(table, ref next[c], skip[c])] = (ushort)c;
                if (++filled == size)
                {
                    return table;
                }
            }
        }
    }

    // The channel's next slot along its permutation that nobody took yet; the step is below the
    // prime size, so the walk visits every slot and a free one is always found.
    private static int TakeNextFree(ushort[] table, ref int next, int skip)
    {
        var size = table.Length;
        var slot = next;
        while (table[slot] != Empty)
        {
            slot += skip;
            if (slot >= size)
            {
                slot -= size;
            }
        }

        next = slot + skip >= size ? slot + skip - size : slot + skip;
        return slot;
    }

    // Turns go by id (then position for a duplicated id), so two instances agree whatever the positions.
    private static int[] TurnOrder(ReadOnlySpan<int> ids)
    {
        var order = new int[ids.Length];
        var keys = new long[ids.Length];
        for (var c = 0; c < order.Length; c++)
        {
            order[c] = c;
            keys[c] = ((long)ids[c] << 16) | (uint)c;
        }

        Array.Sort(keys, order);
        return order;
    }
}
