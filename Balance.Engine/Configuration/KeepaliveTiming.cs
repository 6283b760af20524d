using System.Globalization;

namespace Balance.Configuration;

/// <summary>
/// TCP keepalive timing for both sockets of every session (<c>--keepalive IDLE,INTERVAL,COUNT</c>):
/// after <see cref="IdleSeconds"/> without traffic the kernel sends a probe every
/// <see cref="IntervalSeconds"/>, and after <see cref="Count"/> unanswered probes it ends the
/// connection, so a peer that vanished without a FIN frees its session after
/// IDLE + INTERVAL × COUNT seconds while a quiet peer that still answers is never closed. Without
/// it the system's keepalive timing applies (the original's behaviour: about two hours).
/// </summary>
/// <param name="IdleSeconds">Seconds of silence before the first probe (TCP_KEEPIDLE), 1 to 32,767.</param>
/// <param name="IntervalSeconds">Seconds between probes (TCP_KEEPINTVL), 1 to 32,767.</param>
/// <param name="Count">Unanswered probes before the connection is dropped (TCP_KEEPCNT), 1 to 127.</param>
public sealed record KeepaliveTiming(int IdleSeconds, int IntervalSeconds, int Count)
{
    /// <summary>The largest idle time and interval the kernel takes (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL).</summary>
    public const int MaxSeconds = 32767;

    /// <summary>The most probes the kernel takes (MAX_TCP_KEEPCNT).</summary>
    public const int MaxCount = 127;

    /// <summary>Parses <c>IDLE,INTERVAL,COUNT</c>; a bad value is a usage error naming the option and the form.</summary>
    public static KeepaliveTiming Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var parts = value.Split(',');
        if (parts.Length == 3
            && Part(parts[0], MaxSeconds) is { } idle
            && Part(parts[1], MaxSeconds) is { } interval
            && Part(parts[2], MaxCount) is { } count)
        {
            return new KeepaliveTiming(idle, interval, count);
        }

        throw new ConfigurationException(
            string.Create(CultureInfo.InvariantCulture, $"invalid keepalive timing [--keepalive {value}]: give IDLE,INTERVAL,COUNT (seconds 1-{MaxSeconds}, seconds 1-{MaxSeconds}, probes 1-{MaxCount}), e.g. --keepalive 300,30,4"),
            "--keepalive",
            ExitCodes.Usage);
    }

    /// <summary>Validates values set in code (<see cref="BalanceConfiguration.Validate"/>).</summary>
    public void Validate()
    {
        if (IdleSeconds is < 1 or > MaxSeconds || IntervalSeconds is < 1 or > MaxSeconds || Count is < 1 or > MaxCount)
        {
            throw new ConfigurationException(
                string.Create(CultureInfo.InvariantCulture, $"invalid keepalive timing [{IdleSeconds},{IntervalSeconds},{Count}]: seconds 1-{MaxSeconds}, seconds 1-{MaxSeconds}, probes 1-{MaxCount}"),
                "--keepalive",
                ExitCodes.Usage);
        }
    }

    /// <summary>The option's own spelling, <c>IDLE,INTERVAL,COUNT</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{IdleSeconds},{IntervalSeconds},{Count}");

    private static int? Part(string text, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= max ? n : null;
}
