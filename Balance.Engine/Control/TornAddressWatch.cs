namespace Balance.Control;

/// <summary>
/// Finds channel addresses left half-written (an odd seqlock version) by a control client that
/// died in the middle of <c>assign</c>, and reports each once. Selection already skips such a
/// channel; this tells the owner why it gets no sessions and how to repair it. A version seen odd
/// on two ticks in a row is torn: a live writer holds it for microseconds.
/// </summary>
internal sealed class TornAddressWatch
{
    private readonly ControlSegment segment;
    private readonly int[] seenOdd;
    private readonly int[] reported;

    public TornAddressWatch(ControlSegment segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        this.segment = segment;
        seenOdd = new int[segment.MaxGroups * segment.MaxChannels];
        reported = new int[seenOdd.Length];
    }

    /// <summary>Called on the engine's tick; <paramref name="report"/> gets group, channel and the message of each newly torn address.</summary>
    public void Check(Action<int, int, string> report)
    {
        ArgumentNullException.ThrowIfNull(report);
        for (var g = 0; g < segment.MaxGroups; g++)
        {
            var count = segment.ChannelCount(g);
            for (var c = 0; c < count; c++)
            {
                var slot = (g * segment.MaxChannels) + c;
                var version = Volatile.Read(ref segment.Record(g, c).AddressVersion);
                if ((version & 1) == 0)
                {
                    seenOdd[slot] = 0;
                    reported[slot] = 0;
                }
                else if (seenOdd[slot] != version)
                {
                    seenOdd[slot] = version;
                }
                else if (reported[slot] != version)
                {
                    reported[slot] = version;
                    report(g, c, ChannelAddress.TornMessage(g, c));
                }
            }
        }
    }
}
