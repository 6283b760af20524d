namespace Balance.Policies;

/// <summary>
/// Least connections: the usable channel with the lowest load relative to its weight, where the load
/// is the live count including the client being placed ((c + 1) / weight, as haproxy's leastconn),
/// so idle heavier channels come first. Ties go round robin: the scan starts at the group's shared
/// position, the first of the lightest wins, and the position moves past it by compare-and-swap, so
/// concurrent picks over equal counts spread instead of piling on one channel.
/// </summary>
public sealed class LeastConnectionsPolicy : IBalancingPolicy
{
    /// <summary>The one instance; it keeps no state.</summary>
    public static LeastConnectionsPolicy Instance { get; } = new();

    /// <inheritdoc/>
    public int Id => PolicyCatalog.LeastConnections;

    /// <inheritdoc/>
    public string Name => "LeastConnections";

    /// <inheritdoc/>
    public string ShowName => "LC";

    /// <inheritdoc/>
    public string Word => "leastconn";

    /// <inheritdoc/>
    public bool ScansGroup(bool hashFailover) => true;

    /// <inheritdoc/>
    public int Pick(ReadOnlySpan<ChannelCandidate> channels, ref PickContext context)
    {
        var count = channels.Length;
        if (count == 0)
        {
            return -1;
        }

        while (true)
        {
            var raw = Volatile.Read(ref context.Position);
            var start = (uint)raw >= (uint)count ? 0 : raw;
            var best = Lightest(channels, start);
            if (best < 0)
            {
                return -1;
            }

            if (Interlocked.CompareExchange(ref context.Position, Next(best, count), raw) == raw)
            {
                context.Claimed = best;
                return best;
            }
        }
    }

    /// <inheritdoc/>
    public void Reserved(int chosen, int channelCount, ref PickContext context)
    {
        // The swap moved the position past the pick; a channel the walk scanned to moves it again.
        if (chosen != context.Claimed)
        {
            Volatile.Write(ref context.Position, Next(chosen, channelCount));
        }
    }

    /// <inheritdoc/>
    public void NothingReserved(int channelCount, ref PickContext context)
    {
        // The position only breaks ties; leaving it past the refused pick is harmless.
    }

    /// <summary>The first usable channel from <paramref name="start"/> (wrapping) with the lowest (c + 1) / weight, or -1.</summary>
    internal static int Lightest(ReadOnlySpan<ChannelCandidate> channels, int start)
    {
        var best = -1;
        long bestLoad = 0;
        long bestWeight = 1;
        var c = start;
        for (var step = 0; step < channels.Length; step++)
        {
            ref readonly var candidate = ref channels[c];
            if (candidate.Usable)
            {
                // Compared as fractions by cross-multiplying; a count or weight written by a hostile
                // writer is clamped so the products stay exact.
                long load = Math.Max(candidate.Connections, 0) + 1L;
                long weight = Math.Max(candidate.Weight, 1);
                if (best < 0 || load * bestWeight < bestLoad * weight)
                {
                    best = c;
                    bestLoad = load;
                    bestWeight = weight;
                }
            }

            c = Next(c, channels.Length);
        }

        return best;
    }

    private static int Next(int index, int count) => index + 1 >= count ? 0 : index + 1;
}
