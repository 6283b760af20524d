using System.Globalization;
using System.Text;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;

namespace Balance.Shell;

/// <summary>
/// The <c>show</c> table of the original, column for column: right-aligned fields of fixed
/// minimum width separated by one space; a wider value (an IPv6 address, a large byte count)
/// simply pushes the rest of its line to the right, as it did there.
/// </summary>
internal static class ShowFormatter
{
    public const string Header = "GRP Type  #   S       ip-address  port    c      totalc maxc        sent        rcvd";

    /// <summary>The header and one line per channel, in the order given; every line ends with "\n".</summary>
    public static string Format(IEnumerable<ChannelInfo> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        var text = new StringBuilder(Header).Append('\n');
        foreach (var channel in channels)
        {
            text.Append(FormatLine(channel)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>One channel's row, without a line end.</summary>
    public static string FormatLine(ChannelInfo channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{channel.Group,3} {TypeText(channel.GroupType),4} {channel.Index,2} {StateText(channel),3} {channel.Address,16} {channel.Port,5} {channel.Connections,4} {channel.TotalConnections,11} {channel.MaxConnections,4} {channel.BytesSent,11} {channel.BytesReceived,11}");
    }

    private static string TypeText(GroupType type) => PolicyCatalog.ShowNameOf((int)type);

    // The original knew ENA and dis only; a draining channel shows as "drn".
    /// <summary>"ENA", "dis" or "drn": the state column of <c>show</c>.</summary>
    public static string StateText(ChannelInfo channel) => channel.AdminState switch
    {
        ChannelAdminState.Enabled => "ENA",
        ChannelAdminState.Draining => "drn",
        _ => channel.Enabled ? "ENA" : "dis",
    };
}
