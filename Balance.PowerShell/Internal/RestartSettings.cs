using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// The engine options of a replacement, read from the running instance's segment: its timeouts,
/// grace period, -a, -H, -6, workers and health check timing. What the segment does not record
/// (-B, --metrics, --keepalive, check texts) comes from Restart-Balance's own parameters.
/// </summary>
internal static class RestartSettings
{
    public static BalanceConfiguration From(InstanceInfo info, TimeSpan grace, int? workers, string? outboundAddress, System.Net.IPEndPoint? metrics)
    {
        ArgumentNullException.ThrowIfNull(info);
        var checks = info.Checks;
        if ((checks.Flags & (CheckFlags.Send | CheckFlags.Expect)) != 0)
        {
            throw new InvalidOperationException(
                $"the instance on {info.BindAddress}:{info.Port} checks its back-ends with a send or expect text, which its segment does not record; replace it with the balance executable: balance --takeover with the same --check-send/--check-expect options and the port");
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
                MaxFails = checks.MaxFails,
                FailTimeout = checks.Passive ? checks.FailTimeout : TimeSpan.FromSeconds(10),
            },
        };
    }
}
