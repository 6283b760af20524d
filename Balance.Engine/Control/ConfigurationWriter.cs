using System.Net;
using Balance.Configuration;

namespace Balance.Control;

/// <summary>
/// Writes a start configuration's groups and channels into a fresh segment: every group's policy,
/// every channel in its admin state (enabled unless a layout said otherwise) with its weight, check settings and the next stable id, its resolved address under the
/// seqlock, and each group's channel count published last so the engine never sees a half-filled group.
/// </summary>
internal static class ConfigurationWriter
{
    /// <param name="segment">The fresh segment, not yet seen by an engine.</param>
    /// <param name="configuration">The groups and channels to write.</param>
    /// <param name="addresses">The resolved address of each channel, indexed [group][channel].</param>
    public static void Write(ControlSegment segment, BalanceConfiguration configuration, IPAddress[][] addresses)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(addresses);
        for (var g = 0; g < configuration.Groups.Count; g++)
        {
            var spec = configuration.Groups[g];
            ref var group = ref segment.Group(g);
            group.Policy = (int)spec.Type;
            for (var c = 0; c < spec.Channels.Count; c++)
            {
                var channel = spec.Channels[c];
                ChannelAddress.Write(segment, g, c, channel.Host, addresses[g][c], channel.Port);
                ref var record = ref segment.Record(g, c);
                record.Id = ++segment.Header.LastChannelId;
                record.Weight = channel.Weight;
                record.MaxConnections = channel.MaxConnections;
                record.AdminState = (int)channel.AdminState;
                record.CheckIntervalMs = channel.CheckOverrides.IntervalMs;
                record.Rise = channel.CheckOverrides.Rise;
                record.Fall = channel.CheckOverrides.Fall;
                record.CheckPort = channel.CheckOverrides.Port;
            }

            Volatile.Write(ref group.ChannelCount, spec.Channels.Count);
        }
    }
}
