using System.Globalization;
using System.Text;
using Balance.Control;
using Balance.Health;

namespace Balance.Shell;

/// <summary>
/// The <c>health</c> table: one line on the instance's checks, then per channel its admin state
/// (as <c>show</c> prints it), health, what set it and when, the last check's time, result and
/// duration, the checks' streak and the clients' failed connects in a row. Times are UTC; the
/// table fits 80 columns.
/// </summary>
internal static class HealthFormatter
{
    public const string Header = "GRP  #   S health  by      changed  checked  result              ms streak fail";

    /// <summary>The settings line, the header and one line per channel; every line ends with "\n".</summary>
    public static string Format(HealthCheckSettings checks, IEnumerable<ChannelInfo> channels)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(channels);
        var text = new StringBuilder(Settings(checks)).Append('\n').Append(Header).Append('\n');
        foreach (var channel in channels)
        {
            text.Append(FormatLine(channel)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>"checks every 1000 ms, timeout 500 ms, rise 2, fall 3; passive off (times UTC)".</summary>
    public static string Settings(HealthCheckSettings checks)
    {
        ArgumentNullException.ThrowIfNull(checks);
        var active = checks.Active
            ? string.Create(CultureInfo.InvariantCulture, $"checks every {checks.Interval.TotalMilliseconds:0} ms, timeout {checks.Timeout.TotalMilliseconds:0} ms, rise {checks.Rise}, fall {checks.Fall}{Strings(checks.Flags)}")
            : "checks off";
        var passive = checks.Passive
            ? string.Create(CultureInfo.InvariantCulture, $"passive: down after {checks.MaxFails} failed connects for {checks.FailTimeout.TotalMilliseconds:0} ms")
            : "passive off";
        return active + "; " + passive + " (times UTC)";
    }

    /// <summary>One channel's row, without a line end.</summary>
    public static string FormatLine(ChannelInfo channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var streak = channel.CheckStreak == 0 ? "0" : channel.CheckStreak.ToString("+0;-0", CultureInfo.InvariantCulture);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{channel.Group,3} {channel.Index,2} {ShowFormatter.StateText(channel),3} {HealthText(channel.Health),-7} {SourceText(channel.HealthSource),-7} {Clock(channel.HealthChanged),-8} {Clock(channel.LastCheck),-8} {ResultText.Of(channel.LastCheckResult),-16} {channel.LastCheckDuration.TotalMilliseconds,5:0} {streak,6} {channel.PassiveFailures,4}");
    }

    /// <summary>"unknown", "up" or "down".</summary>
    public static string HealthText(ChannelHealth health) => health switch
    {
        ChannelHealth.Up => "up",
        ChannelHealth.Down => "down",
        _ => "unknown",
    };

    private static string SourceText(HealthSource source) => source switch
    {
        HealthSource.Check => "check",
        HealthSource.Clients => "clients",
        _ => "-",
    };

    private static string Strings(CheckFlags flags) => flags switch
    {
        CheckFlags.Send | CheckFlags.Expect => ", send and expect",
        CheckFlags.Send => ", send",
        CheckFlags.Expect => ", expect",
        _ => string.Empty,
    };

    private static string Clock(DateTimeOffset? time) => time is { } t ? t.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture) : "-";
}
