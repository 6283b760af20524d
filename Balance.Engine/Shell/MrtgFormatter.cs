using System.Globalization;
using Balance.Control;

namespace Balance.Shell;

/// <summary>
/// The four lines MRTG reads from an external command: incoming value, outgoing value, uptime,
/// target name. The original always printed <c>UNKNOWN</c> as uptime; this one prints the real
/// uptime of the instance as <c>D day(s), HH:MM:SS</c> (<c>0 days, 00:00:42</c>,
/// <c>1 day, 02:03:04</c>), the shape of the uptime text MRTG shows for SNMP targets.
/// </summary>
public static class MrtgFormatter
{
    private const string Unknown = "UNKNOWN";

    /// <summary>Bytes from the back-end (in), bytes to the back-end (out), uptime, name.</summary>
    public static string FormatBytes(ChannelInfo channel, TimeSpan uptime)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return Lines(Number(channel.BytesReceived), Number(channel.BytesSent), FormatUptime(uptime), Name(channel));
    }

    /// <summary>Sessions that reached the back-end, <c>UNKNOWN</c> (as the original), uptime, name.</summary>
    public static string FormatConnections(ChannelInfo channel, TimeSpan uptime)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return Lines(Number(channel.TotalConnections), Unknown, FormatUptime(uptime), Name(channel));
    }

    /// <summary>1 when the channel is not down else 0 (in), 1 when its admin state is enabled else 0 (out), uptime, name.</summary>
    public static string FormatHealth(ChannelInfo channel, TimeSpan uptime)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return Lines(channel.Health == ChannelHealth.Down ? "0" : "1", channel.Enabled ? "1" : "0", FormatUptime(uptime), Name(channel));
    }

    internal static string FormatUptime(TimeSpan uptime)
    {
        if (uptime < TimeSpan.Zero)
        {
            uptime = TimeSpan.Zero;
        }

        var days = uptime.Days;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{days} {(days == 1 ? "day" : "days")}, {uptime.Hours:00}:{uptime.Minutes:00}:{uptime.Seconds:00}");
    }

    private static string Name(ChannelInfo channel) =>
        string.Create(CultureInfo.InvariantCulture, $"group {channel.Group} channel {channel.Index}");

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Lines(string first, string second, string third, string fourth) =>
        string.Concat(first, "\n", second, "\n", third, "\n", fourth, "\n");
}
