using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// The engine options of a replacement, read from the running instance's segment: its timeouts,
/// grace period, -a, -H, -6, workers and health check timing. What the segment does not record
/// (-B, --metrics, check texts) comes from Restart-Balance's own parameters.
/// </summary>
internal static class RestartSettings
{
    public static BalanceConfiguration From(InstanceInfo info, TimeSpan grace, int? workers, string? outboundAddress, System.Net.IPEndPoint? metrics, CheckTexts texts)
    {
        ArgumentNullException.ThrowIfNull(info);
        var checks = info.Checks;
        var at = $"{info.BindAddress}:{info.Port}";
        if ((checks.Flags & CheckFlags.Send) != 0 && texts.Send is null)
        {
            throw new InvalidOperationException($"the instance on {at} checks its back-ends with a send text, which its segment does not record: give it again with -CheckSend (and -CheckExpect if it has one)");
        }

        if ((checks.Flags & CheckFlags.Expect) != 0 && texts.Expect is null)
        {
            throw new InvalidOperationException($"the instance on {at} checks its back-ends with an expect text, which its segment does not record: give it again with -CheckExpect (and -CheckSend if it has one)");
        }

        if (!checks.Active && (texts.Send ?? texts.Expect) is not null)
        {
            throw new InvalidOperationException($"-CheckSend and -CheckExpect need active health checks, and the instance on {at} has none: leave them out, or start an instance with -CheckInterval");
        }

        return new BalanceConfiguration
        {
            BindAddress = info.BindAddress,
            Port = info.Port,
            IPv6 = (info.Flags & EngineFlags.IPv6) != 0,
            OutboundAddress = outboundAddress,
            ConnectTimeout = info.ConnectTimeout,
            IdleTimeout = info.IdleTimeout,
            GracePeriod = grace,
            AutoDisable = (info.Flags & EngineFlags.AutoDisable) != 0,
            HashFailover = (info.Flags & EngineFlags.HashFailover) != 0,
            Workers = workers ?? info.CounterStripes,
            MetricsEndpoint = metrics,
            Checks = new HealthCheckOptions
            {
                Interval = checks.Interval,
                Timeout = checks.Active ? checks.Timeout : null,
                Rise = checks.Active ? checks.Rise : 2,
                Fall = checks.Active ? checks.Fall : 3,
                Send = texts.Send,
                Expect = texts.Expect,
                MaxFails = checks.MaxFails,
                FailTimeout = checks.Passive ? checks.FailTimeout : TimeSpan.FromSeconds(10),
            },
        };
    }
}

/// <summary>The health check texts a replacement is given (the segment records only that there are some).</summary>
internal readonly record struct CheckTexts(string? Send, string? Expect);
