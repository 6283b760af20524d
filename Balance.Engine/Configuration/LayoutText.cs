using System.Globalization;
using System.Text;
using Balance.Control;
using Balance.Policies;

namespace Balance.Configuration;

/// <summary>
/// Writes a layout as the text of a layout file (docs/layout-file.md): every field of every channel
/// spelled out in one order, so two saves of the same layout are the same bytes and a diff shows
/// exactly what changed. No time stamp, for the same reason.
/// </summary>
internal static class LayoutText
{
    /// <param name="layout">The groups and channels to write.</param>
    /// <param name="origin">Where the layout came from (an endpoint), written into the comment under the header; null for none.</param>
    public static string Format(BalanceLayout layout, string? origin)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var text = new StringBuilder();
        Line(text, $"{BalanceLayout.Magic} {BalanceLayout.FormatVersion}");
        Line(text, $"# {(origin is null ? string.Empty : "saved from " + origin + " ")}by Balance {ProductInfo.Version}; the format is in docs/layout-file.md");
        for (var g = 0; g < layout.Groups.Count; g++)
        {
            var group = layout.Groups[g];
            if (group.Channels.Count == 0)
            {
                continue;
            }

            Line(text, $"group {g} {PolicyCatalog.Find((int)group.Type)?.Word ?? throw new ArgumentException($"group {g} has policy id {(int)group.Type}, which this build cannot name", nameof(layout))}");
            foreach (var c in group.Channels)
            {
                text.Append(CultureInfo.InvariantCulture, $"channel {c.Destination} maxc {c.MaxConnections} weight {c.Weight} {StateWord(c.AdminState)}");
                Check(text, "check-interval", c.CheckOverrides.IntervalMs);
                Check(text, "check-rise", c.CheckOverrides.Rise);
                Check(text, "check-fall", c.CheckOverrides.Fall);
                Check(text, "check-port", c.CheckOverrides.Port);
                text.Append('\n');
            }
        }

        Line(text, $"end {layout.ChannelCount} channels");
        return text.ToString();
    }

    /// <summary>The word a layout file gives an admin state.</summary>
    public static string StateWord(ChannelAdminState state) => state switch
    {
        ChannelAdminState.Enabled => "enabled",
        ChannelAdminState.Draining => "draining",
        _ => "disabled",
    };

    /// <summary>Only the settings a channel has of its own: the rest follow the instance and need no words.</summary>
    private static void Check(StringBuilder text, string word, int value)
    {
        if (value != 0)
        {
            text.Append(CultureInfo.InvariantCulture, $" {word} {value}");
        }
    }

    private static void Line(StringBuilder text, FormattableString line)
    {
        text.Append(line.ToString(CultureInfo.InvariantCulture));
        text.Append('\n');
    }
}
