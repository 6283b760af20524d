using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// Picks the channel for a connection from the live state in the segment and the client hash.
/// Groups are walked from a given index on, empty groups skipped. A channel is usable when it is
/// enabled and a connection slot could be reserved below its maxc; the same check is used on the
/// first choice and on every failover step, so maxc and disabled flags hold everywhere (the
/// original ignored both when failing over into the next group).
/// </summary>
internal static class ChannelSelector
{
    /// <summary>First usable channel in groups <paramref name="fromGroup"/>.. with its slot reserved, or none.</summary>
    public static ChannelChoice Select(ControlSegment segment, int fromGroup, uint clientHash, bool hashFailover, TextWriter? debug)
    {
        ArgumentNullException.ThrowIfNull(segment);
        for (var g = Math.Max(fromGroup, 0); g < segment.MaxGroups; g++)
        {
            var count = segment.ChannelCount(g);
            if (count == 0)
            {
                continue;
            }

            var channel = segment.GroupTypeOf(g) == GroupType.Hash
                ? SelectHashed(segment, g, count, clientHash, hashFailover, debug)
                : SelectRoundRobin(segment, g, count);
            if (channel >= 0)
            {
                return new ChannelChoice(g, channel);
            }
        }

        return ChannelChoice.None;
    }

    /// <summary>
    /// After <paramref name="failed"/> could not be connected: the next usable channel of the same
    /// group scanning forward (wrapping) until <paramref name="firstTried"/> comes round, so each
    /// channel is tried at most once per group; -1 when the group is done. A hash group is only
    /// scanned with hash failover. The round-robin position is not moved (see <see cref="Advance(ControlSegment, int, int)"/>).
    /// </summary>
    public static int NextInGroup(ControlSegment segment, int group, int failed, int firstTried, bool hashFailover)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (segment.GroupTypeOf(group) == GroupType.Hash && !hashFailover)
        {
            return -1;
        }

        var count = segment.ChannelCount(group);
        if (count == 0 || (uint)firstTried >= (uint)count)
        {
            return -1;
        }

        for (var step = 1; step < count; step++)
        {
            var c = (failed + step) % count;
            if (c == firstTried)
            {
                return -1;
            }

            if (TryReserve(ref segment.Channel(group, c)))
            {
                return c;
            }
        }

        return -1;
    }

    /// <summary>
    /// Moves the group's round-robin position past <paramref name="chosen"/>. Selection does it at
    /// once; a channel reached by a failover scan does it only once its connect succeeded, so the
    /// next client starts after the channel that works (the reference trace) while failed scan
    /// steps leave the position alone.
    /// </summary>
    public static void Advance(ControlSegment segment, int group, int chosen)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var count = segment.ChannelCount(group);
        if (count > 0)
        {
            Advance(segment, group, chosen, count);
        }
    }

    /// <summary>
    /// The usable check: enabled, and one more connection fits under maxc (0 = unlimited). The
    /// slot is taken by compare-and-swap, so concurrent reservations can never exceed maxc.
    /// </summary>
    public static bool TryReserve(ref ChannelRecord channel)
    {
        if (Volatile.Read(ref channel.Enabled) == 0)
        {
            return false;
        }

        while (true)
        {
            var current = Volatile.Read(ref channel.Connections);
            var max = Volatile.Read(ref channel.MaxConnections);
            if (max > 0 && current >= max)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref channel.Connections, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public static void Release(ref ChannelRecord channel) => Interlocked.Decrement(ref channel.Connections);

    /// <summary>
    /// The starting channel is claimed like a ticket (compare-and-swap of the position to the one
    /// after it), so concurrent accepts never start on the same channel and a burst splits evenly;
    /// reading the position and writing it back later let two selections pick the same channel.
    /// </summary>
    private static int SelectRoundRobin(ControlSegment segment, int group, int count)
    {
        ref var position = ref segment.Group(group).RoundRobinPosition;
        int start;
        int next;
        while (true)
        {
            var raw = Volatile.Read(ref position);
            start = (uint)raw >= (uint)count ? 0 : raw;
            next = start + 1 == count ? 0 : start + 1;
            if (Interlocked.CompareExchange(ref position, next, raw) == raw)
            {
                break;
            }
        }

        for (var step = 0; step < count; step++)
        {
            var c = (start + step) % count;
            if (TryReserve(ref segment.Channel(group, c)))
            {
                if (c != start)
                {
                    Advance(segment, group, c, count);
                }

                return c;
            }
        }

        // Nothing usable: leave the position where it was, unless another selection moved it since.
        Interlocked.CompareExchange(ref position, start, next);
        return -1;
    }

    private static int SelectHashed(ControlSegment segment, int group, int count, uint clientHash, bool hashFailover, TextWriter? debug)
    {
        var hashed = (int)(clientHash % (uint)count);
        debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"HASH-method: fold returns {clientHash}"));
        debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"modulo {count} gives {hashed}"));
        if (TryReserve(ref segment.Channel(group, hashed)))
        {
            Advance(segment, group, hashed, count);
            return hashed;
        }

        if (!hashFailover)
        {
            debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"no valid channel in group {group}. Failover?"));
            return -1;
        }

        debug?.WriteLine("channel disabled - hashfailover.");
        for (var step = 1; step < count; step++)
        {
            var c = (hashed + step) % count;
            if (TryReserve(ref segment.Channel(group, c)))
            {
                debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"channel choosen: {c} in group {group}."));
                Advance(segment, group, c, count);
                return c;
            }
        }

        debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"no valid channel in group {group}."));
        return -1;
    }

    private static void Advance(ControlSegment segment, int group, int chosen, int count) =>
        Volatile.Write(ref segment.Group(group).RoundRobinPosition, (chosen + 1) % count);
}
