namespace Balance.Control;

/// <summary>
/// Copies the live layout of a running engine's segment into the fresh segment of the engine that
/// takes it over: every group record (policy, its settings) and channel record (address, admin
/// state, weight, maxc, health and its check settings, stable id) as they are, and the counters
/// summed over the old engine's workers into the new one's first stripe. What belongs to the old
/// engine's sessions (live connection counts, close requests) starts at zero. The caller holds the
/// control lock, so no structural change slips in while it copies. See docs/restart.md.
/// </summary>
internal static class LayoutCopy
{
    public static void Copy(ControlSegment from, ControlSegment to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (from.MaxGroups > to.MaxGroups || from.MaxChannels > to.MaxChannels)
        {
            throw new ArgumentException("the new segment must hold at least the old one's groups and channels", nameof(to));
        }

        to.Header.LastChannelId = Volatile.Read(ref from.Header.LastChannelId);
        var accepted = from.SumInstanceStripes();
        to.InstanceStripe(0) = accepted;
        for (var g = 0; g < from.MaxGroups; g++)
        {
            var count = from.ChannelCount(g);
            ref var group = ref to.Group(g);
            group = from.Group(g);
            group.ChannelCount = 0;
            for (var c = 0; c < count; c++)
            {
                ref var record = ref to.Record(g, c);
                record = from.Record(g, c);
                record.Connections = 0;
                record.CloseRequest = 0;
                to.Stripe(0, g, c) = from.SumStripes(g, c);
            }

            // Published last, as at start: a reader never sees a group with half its channels.
            Volatile.Write(ref group.ChannelCount, count);
        }
    }
}
