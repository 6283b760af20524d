using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Health;

/// <summary>
/// Passive checks (nginx's <c>max_fails</c>/<c>fail_timeout</c>): <c>max-fails</c> failed connects
/// by real clients in a row take a channel down for the retry period; once the period is over
/// (<see cref="HealthMonitor"/>) clients try it again, and one more failure takes it down at once,
/// while a successful connect clears the count. Counts live in the segment, so every worker's
/// failures add up; a successful connect writes only when there was a count to clear.
/// </summary>
internal sealed class PassiveHealth
{
    private readonly ControlSegment segment;
    private readonly HealthCheckOptions options;
    private readonly HealthWriter writer;

    public PassiveHealth(ControlSegment segment, HealthCheckOptions options, HealthWriter writer)
    {
        this.segment = segment;
        this.options = options;
        this.writer = writer;
    }

    /// <summary>A client's connect to the channel failed.</summary>
    public void ConnectFailed(int group, int channel)
    {
        ref var record = ref segment.Record(group, channel);
        var failures = Interlocked.Increment(ref record.PassiveFailures);
        if (failures > HealthCheckOptions.MaxCount)
        {
            Volatile.Write(ref record.PassiveFailures, options.MaxFails);
        }

        if (failures < options.MaxFails || Volatile.Read(ref record.Health) == (int)ChannelHealth.Down)
        {
            return;
        }

        Volatile.Write(ref record.RetryAtUnixMs, DateTimeOffset.UtcNow.Add(options.FailTimeout).ToUnixTimeMilliseconds());
        writer.Set(group, channel, ChannelHealth.Down, HealthSource.Clients, string.Create(
            CultureInfo.InvariantCulture,
            $"{failures} connects by clients failed in a row; clients try it again in {options.FailTimeout.TotalSeconds:0.###} s"));
    }

    /// <summary>A client's connect to the channel succeeded: its failures no longer count.</summary>
    public void ConnectSucceeded(int group, int channel)
    {
        ref var record = ref segment.Record(group, channel);
        if (Volatile.Read(ref record.PassiveFailures) != 0)
        {
            Volatile.Write(ref record.PassiveFailures, 0);
        }
    }
}
