using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Health;

/// <summary>
/// Writes a channel's health into the segment, where every worker's pick, <c>show</c>, the
/// cmdlets and MRTG read it, and reports each change once: an event in the ring and a <c>-d</c> line.
/// </summary>
internal sealed class HealthWriter
{
    private readonly ControlSegment segment;
    private readonly TextWriter? debug;

    public HealthWriter(ControlSegment segment, TextWriter? debug)
    {
        this.segment = segment;
        this.debug = debug;
    }

    /// <summary>Sets the health; true when it changed (then the event is published with <paramref name="why"/>).</summary>
    public bool Set(int group, int channel, ChannelHealth health, HealthSource source, string why)
    {
        ref var record = ref segment.Record(group, channel);
        var before = (ChannelHealth)Interlocked.Exchange(ref record.Health, (int)health);
        if (before == health)
        {
            return false;
        }

        Volatile.Write(ref record.HealthSource, (int)source);
        Volatile.Write(ref record.HealthChangedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var destination = ChannelSpec.FormatDestination(segment.ReadDestination(group, channel), Volatile.Read(ref record.Port));
        var text = string.Create(CultureInfo.InvariantCulture, $"group {group} channel {channel} ({destination}) is {Word(health)}: {why}");
        EventRing.Publish(segment, Kind(health), group, channel, text);
        debug?.WriteLine(text);
        return true;
    }

    private static string Word(ChannelHealth health) => health switch
    {
        ChannelHealth.Up => "up",
        ChannelHealth.Down => "down",
        _ => "unknown",
    };

    private static EngineEventKind Kind(ChannelHealth health) => health switch
    {
        ChannelHealth.Up => EngineEventKind.HealthUp,
        ChannelHealth.Down => EngineEventKind.HealthDown,
        _ => EngineEventKind.HealthUnknown,
    };
}
