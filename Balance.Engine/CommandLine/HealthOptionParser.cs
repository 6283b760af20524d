using System.Globalization;
using Balance.Configuration;

namespace Balance.CommandLine;

/// <summary>
/// The long options of health checks (<c>--check-interval</c>, <c>--rise</c>, <c>--max-fails</c>,
/// ...). Times are milliseconds, or a number with <c>ms</c>, <c>s</c> or <c>m</c> (<c>1s</c>,
/// <c>1500ms</c>), as HAProxy writes them. Every bad value names its option and the fix.
/// </summary>
internal static class HealthOptionParser
{
    /// <summary>The long options this parser reads, each with a value.</summary>
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal)
    {
        "check-interval", "check-timeout", "rise", "fall", "check-send", "check-expect", "max-fails", "fail-timeout",
    };

    /// <summary>Applies option <paramref name="name"/> to <paramref name="options"/>; the result is validated as a whole later.</summary>
    public static HealthCheckOptions Apply(HealthCheckOptions options, string name, string value) => name switch
    {
        "check-interval" => options with { Interval = ParseTime(name, value, allowZero: true) },
        "check-timeout" => options with { Timeout = ParseTime(name, value, allowZero: false) },
        "rise" => options with { Rise = ParseCount(name, value) },
        "fall" => options with { Fall = ParseCount(name, value) },
        "max-fails" => options with { MaxFails = ParseCount(name, value) },
        "fail-timeout" => options with { FailTimeout = ParseTime(name, value, allowZero: false) },
        "check-send" => options with { Send = HealthCheckOptions.Unescape(value) },
        "check-expect" => options with { Expect = HealthCheckOptions.Unescape(value) },
        _ => throw new InvalidOperationException($"option --{name} is not a health check option"),
    };

    /// <summary>Milliseconds, or a number followed by ms, s or m; negative and malformed values are refused.</summary>
    public static TimeSpan ParseTime(string name, string value, bool allowZero)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (number, scale) = value switch
        {
            _ when value.EndsWith("ms", StringComparison.Ordinal) => (value[..^2], 1.0),
            _ when value.EndsWith('s') => (value[..^1], 1000.0),
            _ when value.EndsWith('m') => (value[..^1], 60_000.0),
            _ => (value, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || !double.IsFinite(amount) || amount * scale > HealthCheckOptions.MaxPeriod.TotalMilliseconds || (!allowZero && amount == 0))
        {
            throw new ConfigurationException(
                $"invalid --{name} [{value}]: give milliseconds (1000) or a time with a unit (1s, 500ms, 2m), at most 1 hour{(allowZero ? string.Empty : ", above 0")}",
                "--" + name,
                ExitCodes.Usage);
        }

        return TimeSpan.FromMilliseconds(Math.Round(amount * scale));
    }

    private static int ParseCount(string name, string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count > HealthCheckOptions.MaxCount)
        {
            throw new ConfigurationException(
                string.Create(CultureInfo.InvariantCulture, $"invalid --{name} [{value}]: give a whole number up to {HealthCheckOptions.MaxCount}"),
                "--" + name,
                ExitCodes.Usage);
        }

        return count;
    }
}
