namespace Balance.Policies;

/// <summary>
/// The original's round robin: the next usable channel at or after the group's shared position.
/// The starting channel is claimed like a ticket (compare-and-swap of the position to the one after
/// it), so concurrent picks on any worker never start on the same channel and a burst splits evenly.
/// </summary>
public sealed class RoundRobinPolicy : IBalancingPolicy
{
    /// <summary>The one instance; it keeps no state.</summary>
    public static RoundRobinPolicy Instance { get; } = new();

    /// <inheritdoc/>
    public int Id => PolicyCatalog.RoundRobin;

    /// <inheritdoc/>
    public string Name => "RoundRobin";

    /// <inheritdoc/>
    public string ShowName => "RR";

    /// <inheritdoc/>
    public string Word => "rr";

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

        int start;
        while (true)
        {
            var raw = Volatile.Read(ref context.Position);
            start = (uint)raw >= (uint)count ? 0 : raw;
            if (Interlocked.CompareExchange(ref context.Position, Next(start, count), raw) == raw)
            {
                break;
            }
        }

        context.Claimed = start;
        for (var step = 0; step < count; step++)
        {
            var c = (start + step) % count;
            if (channels[c].Usable)
            {
                return c;
            }
        }

        return -1;
    }

    /// <inheritdoc/>
    public void Reserved(int chosen, int channelCount, ref PickContext context)
    {
        // The ticket already moved the position past its own channel; only a skip moves it again.
        if (chosen != context.Claimed)
        {
            Volatile.Write(ref context.Position, Next(chosen, channelCount));
        }
    }

    /// <inheritdoc/>
    public void NothingReserved(int channelCount, ref PickContext context) =>
        // Leave the position where it was, unless another pick moved it since.
        Interlocked.CompareExchange(ref context.Position, context.Claimed, Next(context.Claimed, channelCount));

    private static int Next(int index, int count) => index + 1 >= count ? 0 : index + 1;
}
