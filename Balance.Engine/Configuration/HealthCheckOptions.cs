using System.Globalization;
using System.Text;

namespace Balance.Configuration;

/// <summary>
/// How an engine checks its back-ends. Active checks (a TCP connect every <see cref="Interval"/>,
/// optionally a string sent and a reply expected, HAProxy's <c>check</c> and <c>tcp-check</c>) are
/// on when <see cref="Interval"/> is above zero; passive checks (nginx's <c>max_fails</c> and
/// <c>fail_timeout</c>: failed connects by real clients) when <see cref="MaxFails"/> is. Both are
/// off by default, so a configuration without them behaves as the original.
/// </summary>
public sealed record HealthCheckOptions
{
    /// <summary>Longest <see cref="Send"/> and <see cref="Expect"/>, in UTF-8 bytes.</summary>
    public const int MaxTextBytes = 256;

    /// <summary>Largest rise, fall and max-fails.</summary>
    public const int MaxCount = 100;

    /// <summary>Longest interval and fail timeout.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromHours(1);

    /// <summary>Everything off.</summary>
    public static HealthCheckOptions None { get; } = new();

    /// <summary>Time between two checks of a channel; zero = no active checks.</summary>
    public TimeSpan Interval { get; init; }

    /// <summary>How long one check may take (connect, send and reply together), at most the interval; null = 2 s or the interval if shorter.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The check timeout in force (<see cref="Timeout"/>, or its default).</summary>
    public TimeSpan EffectiveTimeout => Timeout ?? (Active && Interval < DefaultTimeout ? Interval : DefaultTimeout);

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive passed checks that bring a down channel up.</summary>
    public int Rise { get; init; } = 2;

    /// <summary>Consecutive failed checks that take a channel down.</summary>
    public int Fall { get; init; } = 3;

    /// <summary>Sent once the check's connect succeeded (escapes \r \n \t \\ already decoded); null = nothing.</summary>
    public string? Send { get; init; }

    /// <summary>The check passes only when the reply contains this; null = the connect is enough.</summary>
    public string? Expect { get; init; }

    /// <summary>Consecutive failed client connects that take a channel down; 0 = no passive checks.</summary>
    public int MaxFails { get; init; }

    /// <summary>How long passive checks keep a channel down before clients try it again.</summary>
    public TimeSpan FailTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>True when active checks run.</summary>
    public bool Active => Interval > TimeSpan.Zero;

    /// <summary>True when failed client connects count.</summary>
    public bool Passive => MaxFails > 0;

    /// <summary>Checks every value; throws <see cref="ConfigurationException"/> naming the option and the fix.</summary>
    public void Validate()
    {
        if (Interval < TimeSpan.Zero || Interval > MaxPeriod || (Interval > TimeSpan.Zero && Interval < TimeSpan.FromMilliseconds(10)))
        {
            throw Invalid("--check-interval", Ms(Interval), "give 10 ms to 1 hour, or 0 for no active checks");
        }

        var timeout = EffectiveTimeout;
        if (timeout < TimeSpan.FromMilliseconds(1) || (Active && timeout > Interval) || timeout > MaxPeriod)
        {
            throw Invalid("--check-timeout", Ms(timeout), "give 1 ms up to the check interval");
        }

        CheckCount("--rise", Rise, 1);
        CheckCount("--fall", Fall, 1);
        CheckCount("--max-fails", MaxFails, 0);
        if (FailTimeout < TimeSpan.FromMilliseconds(1) || FailTimeout > MaxPeriod)
        {
            throw Invalid("--fail-timeout", Ms(FailTimeout), "give 1 ms to 1 hour");
        }

        CheckText("--check-send", Send);
        CheckText("--check-expect", Expect);
        if ((Send is not null || Expect is not null) && !Active)
        {
            throw new ConfigurationException("--check-send and --check-expect need active checks: add --check-interval (e.g. --check-interval 1000)", "--check-interval", ExitCodes.Usage);
        }
    }

    /// <summary>Turns the escapes a shell cannot type easily (\r \n \t \\) into their characters.</summary>
    public static string Unescape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\' || i + 1 == text.Length)
            {
                result.Append(text[i]);
                continue;
            }

            i++;
            result.Append(text[i] switch
            {
                'r' => '\r',
                'n' => '\n',
                't' => '\t',
                _ => text[i],
            });
        }

        return result.ToString();
    }

    /// <summary>The inverse of <see cref="Unescape"/>, for writing a configuration back as arguments.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);
    }

    private static void CheckCount(string option, int value, int min)
    {
        if (value < min || value > MaxCount)
        {
            throw Invalid(option, value.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture, $"give {min} to {MaxCount}"));
        }
    }

    private static void CheckText(string option, string? text)
    {
        if (text is null)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes == 0 || bytes > MaxTextBytes)
        {
            throw Invalid(option, string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"), string.Create(CultureInfo.InvariantCulture, $"give 1 to {MaxTextBytes} bytes"));
        }
    }

    private static string Ms(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0.###} ms");

    private static ConfigurationException Invalid(string option, string value, string fix) =>
        new($"invalid {option} [{value}]: {fix}", option, ExitCodes.Usage);
}
