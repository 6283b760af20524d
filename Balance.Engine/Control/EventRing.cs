using System.Text;

namespace Balance.Control;

/// <summary>One engine event as read back from the segment's ring.</summary>
public sealed record BalanceEvent(long Sequence, DateTimeOffset Time, EngineEventKind Kind, int Group, int Channel, string Message);

/// <summary>
/// The small ring of engine events in the segment: failovers, autodisables, errors. Writers (the
/// engine's threads) claim a sequence number atomically; readers in any process skip slots that
/// were overwritten or are half written, so they never block the engine.
/// </summary>
internal static unsafe class EventRing
{
    public static void Publish(ControlSegment segment, EngineEventKind kind, int group, int channel, string message)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(message);
        if (segment.EventCapacity == 0)
        {
            return;
        }

        var sequence = Interlocked.Increment(ref segment.Header.EventHead) - 1;
        ref var e = ref segment.EventSlot(sequence);
        Volatile.Write(ref e.Published, 0);
        e.TimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        e.Kind = (int)kind;
        e.Group = group;
        e.Channel = channel;
        fixed (byte* t = e.Text)
        {
            ControlSegment.WriteText(new Span<byte>(t, EventRecord.TextCapacity), message, out var length);
            e.TextLength = length;
        }

        Volatile.Write(ref e.Published, sequence + 1);
    }

    /// <summary>
    /// Events from <paramref name="cursor"/> on (oldest still in the ring first); advances the cursor
    /// past what was returned. Events that were overwritten before being read are skipped.
    /// </summary>
    public static IReadOnlyList<BalanceEvent> Read(ControlSegment segment, ref long cursor)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var head = Volatile.Read(ref segment.Header.EventHead);
        var capacity = segment.EventCapacity;
        if (capacity == 0 || head <= cursor)
        {
            if (head < cursor)
            {
                cursor = head;
            }

            return [];
        }

        var from = Math.Max(cursor, head - capacity);
        var list = new List<BalanceEvent>((int)Math.Min(head - from, capacity));
        for (var s = Math.Max(from, 0); s < head; s++)
        {
            ref var e = ref segment.EventSlot(s);
            if (Volatile.Read(ref e.Published) != s + 1)
            {
                continue;
            }

            var time = e.TimeUnixMs;
            var kind = (EngineEventKind)e.Kind;
            var group = e.Group;
            var channel = e.Channel;
            string text;
            fixed (byte* t = e.Text)
            {
                text = Encoding.UTF8.GetString(t, Math.Clamp(e.TextLength, 0, EventRecord.TextCapacity));
            }

            if (Volatile.Read(ref e.Published) == s + 1)
            {
                list.Add(new BalanceEvent(s, DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(time, 0, 253402300799999)), kind, group, channel, text));
            }
        }

        cursor = head;
        return list;
    }
}
