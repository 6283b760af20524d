using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Health;

/// <summary>
/// The active checks and the passive checks' retry periods of one worker's share of the channels
/// (those whose stable id modulo the worker count is the worker's index), so a back-end sees one
/// check per interval whatever the number of workers. <see cref="Tick"/> runs on the worker's
/// sweeper tick: it only starts the checks that are due (each in flight at most once) and ends
/// retry periods that are over; the checks themselves run on the runtime's socket engine
/// (<see cref="HealthProbe"/>) and write their results into the segment.
/// </summary>
internal sealed class HealthMonitor
{
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

    private readonly ControlSegment segment;
    private readonly HealthCheckOptions options;
    private readonly HealthWriter writer;
    private readonly HealthProbe probe;
    private readonly int worker;
    private readonly int workers;
    private readonly Action<string> reportError;
    private readonly ChannelCheck?[] checks;
    private readonly CancellationTokenSource stopping = new();
    private int inFlight;

    /// <param name="segment">The segment whose channels are checked and whose health states are written.</param>
    /// <param name="options">Interval, timeout, rise and fall thresholds, and what to send and expect.</param>
    /// <param name="writer">Writes each channel's health into the segment and reports its changes.</param>
    /// <param name="probe">How one check is made.</param>
    /// <param name="worker">This worker's index; it checks the channels whose id modulo <paramref name="workers"/> is this.</param>
    /// <param name="workers">How many workers share the checks.</param>
    /// <param name="reportError">Hears of a bug in a check, which costs that check, never the engine.</param>
    public HealthMonitor(ControlSegment segment, HealthCheckOptions options, HealthWriter writer, HealthProbe probe, int worker, int workers, Action<string> reportError)
    {
        this.segment = segment;
        this.options = options;
        this.writer = writer;
        this.probe = probe;
        this.worker = worker;
        this.workers = Math.Max(workers, 1);
        this.reportError = reportError;
        checks = new ChannelCheck?[segment.MaxGroups * segment.MaxChannels];
    }

    /// <summary>The probe for an engine's options: the check strings as UTF-8, <c>-B</c> as the source address.</summary>
    public static HealthProbe ProbeFor(HealthCheckOptions options, IPEndPoint? source4, IPEndPoint? source6)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HealthProbe(
            options.Send is null ? null : Encoding.UTF8.GetBytes(options.Send),
            options.Expect is null ? null : Encoding.UTF8.GetBytes(options.Expect),
            source4,
            source6);
    }

    /// <summary>Checks in flight, for tests and the stop.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>Starts the checks that are due and ends the retry periods that are over; cheap when nothing is due.</summary>
    public void Tick()
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        var now = Environment.TickCount64;
        var unixNow = options.Passive ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : 0;
        for (var g = 0; g < segment.MaxGroups; g++)
        {
            var count = segment.ChannelCount(g);
            for (var c = 0; c < count; c++)
            {
                ref var record = ref segment.Record(g, c);
                var id = Volatile.Read(ref record.Id);
                if (id % workers != worker)
                {
                    continue;
                }

                if (options.Passive)
                {
                    EndRetryPeriod(ref record, g, c, unixNow);
                }

                if (options.Active)
                {
                    StartIfDue(ref record, g, c, id, now);
                }
            }
        }
    }

    /// <summary>Cancels the checks in flight and waits for them; false when one did not end in time (it may still write the segment).</summary>
    public bool Stop()
    {
        stopping.Cancel();
        var deadline = Environment.TickCount64 + (long)StopWait.TotalMilliseconds;
        while (InFlight > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(5);
        }

        return InFlight == 0;
    }

    private void EndRetryPeriod(ref ChannelRecord record, int group, int channel, long unixNow)
    {
        var retry = Volatile.Read(ref record.RetryAtUnixMs);
        if (retry == 0 || unixNow < retry || Interlocked.CompareExchange(ref record.RetryAtUnixMs, 0, retry) != retry)
        {
            return;
        }

        if (Volatile.Read(ref record.Health) == (int)ChannelHealth.Down && Volatile.Read(ref record.HealthSource) == (int)HealthSource.Clients)
        {
            writer.Set(group, channel, ChannelHealth.Unknown, HealthSource.Clients, string.Create(CultureInfo.InvariantCulture, $"its {options.FailTimeout.TotalSeconds:0.###} s retry period is over, clients try it again"));
        }
    }

    private void StartIfDue(ref ChannelRecord record, int group, int channel, int id, long now)
    {
        var slot = (group * segment.MaxChannels) + channel;
        var interval = IntervalOf(ref record);
        var check = checks[slot];
        if (check is null || check.Id != id)
        {
            // Spread the first checks over one interval, so many channels are not checked in one burst.
            var offset = (long)((uint)id * 2654435761u % (uint)Math.Max(interval, 1));
            checks[slot] = check = new ChannelCheck(id, now + offset);
        }

        if (Volatile.Read(ref check.Running) != 0 || now < check.NextDue)
        {
            return;
        }

        var endpoint = ChannelAddress.Read(segment, group, channel, out var version);
        if (check.AddressVersion != version)
        {
            if (check.AddressVersion != -1)
            {
                Volatile.Write(ref record.CheckStreak, 0);
                writer.Set(group, channel, ChannelHealth.Unknown, HealthSource.Check, "its address changed");
            }

            check.AddressVersion = version;
        }

        var port = Volatile.Read(ref record.CheckPort);
        if (port is > 0 and <= 65535)
        {
            endpoint = new IPEndPoint(endpoint.Address, port);
        }

        check.NextDue = now + interval;
        Volatile.Write(ref check.Running, 1);
        Interlocked.Increment(ref inFlight);
        _ = RunAsync(check, group, channel, endpoint, TimeSpan.FromMilliseconds(Math.Min(options.EffectiveTimeout.TotalMilliseconds, interval)));
    }

    private async Task RunAsync(ChannelCheck check, int group, int channel, IPEndPoint endpoint, TimeSpan timeout)
    {
        try
        {
            var started = Stopwatch.GetTimestamp();
            var result = await probe.RunAsync(endpoint, timeout, stopping.Token).ConfigureAwait(false);
            if (!stopping.IsCancellationRequested)
            {
                Apply(group, channel, result, Stopwatch.GetElapsedTime(started));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reportError(string.Create(CultureInfo.InvariantCulture, $"health check of group {group} channel {channel}: {e.Message}"));
        }
        finally
        {
            Volatile.Write(ref check.Running, 0);
            Interlocked.Decrement(ref inFlight);
        }
    }

    private void Apply(int group, int channel, CheckResult result, TimeSpan took)
    {
        ref var record = ref segment.Record(group, channel);
        var passed = result == CheckResult.Passed;
        Volatile.Write(ref record.LastCheckResult, (int)result);
        Volatile.Write(ref record.LastCheckMs, (int)Math.Min(took.TotalMilliseconds, int.MaxValue));
        Volatile.Write(ref record.LastCheckUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var streak = HealthRules.NextStreak(Volatile.Read(ref record.CheckStreak), passed);
        Volatile.Write(ref record.CheckStreak, streak);
        var current = (ChannelHealth)Volatile.Read(ref record.Health);
        var next = HealthRules.Decide(current, streak, RiseOf(ref record), FallOf(ref record));
        if (next == current)
        {
            return;
        }

        var why = next == ChannelHealth.Up
            ? string.Create(CultureInfo.InvariantCulture, $"{streak} check(s) passed in a row")
            : string.Create(CultureInfo.InvariantCulture, $"{-streak} checks failed in a row, the last {ResultText.Of(result)}");
        if (writer.Set(group, channel, next, HealthSource.Check, why) && next == ChannelHealth.Up)
        {
            // The checks vouch for the back-end again: clients' failures before it no longer count.
            Volatile.Write(ref record.RetryAtUnixMs, 0);
            Volatile.Write(ref record.PassiveFailures, 0);
        }
    }

    private int IntervalOf(ref ChannelRecord record)
    {
        var own = Volatile.Read(ref record.CheckIntervalMs);
        return own > 0 ? own : (int)options.Interval.TotalMilliseconds;
    }

    private int RiseOf(ref ChannelRecord record)
    {
        var own = Volatile.Read(ref record.Rise);
        return own > 0 ? own : options.Rise;
    }

    private int FallOf(ref ChannelRecord record)
    {
        var own = Volatile.Read(ref record.Fall);
        return own > 0 ? own : options.Fall;
    }

    /// <summary>One channel's check schedule; <see cref="Id"/> tells a channel slot reused by another channel.</summary>
    private sealed class ChannelCheck(int id, long nextDue)
    {
        public int Id { get; } = id;

        public long NextDue = nextDue;

        public int Running;

        public int AddressVersion = -1;
    }
}
