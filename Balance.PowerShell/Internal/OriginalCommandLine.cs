using System.Globalization;
using Balance.Configuration;

namespace Balance.PowerShell;

/// <summary>
/// A configuration written back as the balance executable's arguments: what -Detached runs, and
/// the job's Command text, so Get-Job shows the equivalent command line.
/// </summary>
internal static class OriginalCommandLine
{
    /// <param name="configuration">The start options.</param>
    /// <param name="layoutPath">A layout file the groups came from: passed as <c>--layout</c>, since channel words cannot carry admin states or check settings.</param>
    public static IReadOnlyList<string> Arguments(BalanceConfiguration configuration, string? layoutPath = null)
    {
        var args = new List<string>();
        if (configuration.BindAddress is { } bind)
        {
            args.Add("-b");
            args.Add(bind);
        }

        if (configuration.OutboundAddress is { } outbound)
        {
            args.Add("-B");
            args.Add(outbound);
        }

        args.Add("-t");
        args.Add(Seconds(configuration.ConnectTimeout));
        if (configuration.IdleTimeout > TimeSpan.Zero)
        {
            args.Add("-T");
            args.Add(Seconds(configuration.IdleTimeout));
        }

        if (configuration.AutoDisable)
        {
            args.Add("-a");
        }

        if (configuration.HashFailover)
        {
            args.Add("-H");
        }

        if (configuration.IPv6)
        {
            args.Add("-6");
        }

        if (configuration.Workers > 0)
        {
            args.Add("--workers");
            args.Add(configuration.Workers.ToString(CultureInfo.InvariantCulture));
        }

        if (configuration.MetricsEndpoint is { } metrics)
        {
            args.Add("--metrics");
            args.Add(Metrics.MetricsAddress.Format(metrics));
        }

        args.AddRange(CheckOptions(configuration.Checks));
        if (configuration.StateFile is { } state)
        {
            args.AddRange(["--state-file", state]);
        }

        if (layoutPath is not null)
        {
            args.AddRange(["--layout", layoutPath, configuration.Port.ToString(CultureInfo.InvariantCulture)]);
            return args;
        }

        args.AddRange(PolicyOptions(configuration));
        args.Add(configuration.Port.ToString(CultureInfo.InvariantCulture));
        args.AddRange(ChannelWords(configuration));
        return args;
    }

    /// <summary>The channel words with the group separators ('!' round robin, '%' hash), as -Channel takes them.</summary>
    public static IReadOnlyList<string> ChannelWords(BalanceConfiguration configuration)
    {
        var words = new List<string>();
        foreach (var group in configuration.Groups)
        {
            words.AddRange(group.Channels.Select(Word));
            words.Add(group.Type == GroupType.Hash ? "%" : "!");
        }

        // A trailing '!' is redundant (the last group is round robin by default).
        if (words.Count > 0 && words[^1] == "!")
        {
            words.RemoveAt(words.Count - 1);
        }

        return words;
    }

    /// <summary><c>--policy N=word</c> for each group of a policy the separators cannot say (the separator is then '!').</summary>
    public static IReadOnlyList<string> PolicyOptions(BalanceConfiguration configuration)
    {
        var args = new List<string>();
        for (var g = 0; g < configuration.Groups.Count; g++)
        {
            var type = configuration.Groups[g].Type;
            if (type is not (GroupType.RoundRobin or GroupType.Hash))
            {
                args.AddRange(["--policy", string.Create(CultureInfo.InvariantCulture, $"{g}={Policies.PolicyCatalog.Find((int)type)!.Word}")]);
            }
        }

        return args;
    }

    /// <summary>The health check options that differ from "off", as long options.</summary>
    public static IReadOnlyList<string> CheckOptions(HealthCheckOptions checks)
    {
        var args = new List<string>();
        if (checks.Active)
        {
            args.AddRange(["--check-interval", Ms(checks.Interval), "--check-timeout", Ms(checks.EffectiveTimeout), "--rise", Number(checks.Rise), "--fall", Number(checks.Fall)]);
            if (checks.Send is { } send)
            {
                args.AddRange(["--check-send", HealthCheckOptions.Escape(send)]);
            }

            if (checks.Expect is { } expect)
            {
                args.AddRange(["--check-expect", HealthCheckOptions.Escape(expect)]);
            }
        }

        if (checks.Passive)
        {
            args.AddRange(["--max-fails", Number(checks.MaxFails), "--fail-timeout", Ms(checks.FailTimeout)]);
        }

        return args;
    }

    private static string Ms(TimeSpan t) => ((long)Math.Round(t.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);

    public static string Text(BalanceConfiguration configuration, string? layoutPath = null) => "balance " + string.Join(' ', Arguments(configuration, layoutPath));

    private static string Word(ChannelSpec c) => c switch
    {
        { Weight: not 1 } => string.Create(CultureInfo.InvariantCulture, $"{c.Destination}:{c.MaxConnections}:{c.Weight}"),
        { MaxConnections: > 0 } => string.Create(CultureInfo.InvariantCulture, $"{c.Destination}:{c.MaxConnections}"),
        _ => c.Destination,
    };

    private static string Seconds(TimeSpan t) => ((long)Math.Ceiling(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
