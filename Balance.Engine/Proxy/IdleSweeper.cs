using System.Globalization;
using Balance.Control;
using Balance.Transport;

namespace Balance.Proxy;

/// <summary>
/// One timer for all sessions of an engine. Each tick it closes connect attempts past their
/// deadline (the connect timeout), closes relayed sessions with no data either way for longer
/// than the idle timeout, and runs the engine's own periodic check (the kill request). Sessions
/// only write a timestamp per read; nothing is scheduled per session. The transport runs the
/// ticks (<see cref="ITransport.Schedule"/>): on its loop's thread where it has one.
/// </summary>
internal sealed class IdleSweeper
{
    private readonly EngineContext context;
    private readonly Action tick;
    private ITicks? ticks;
    private readonly List<Session> due = [];
    private readonly Func<Session, long, bool> isConnectOverdue = static (s, now) => s.IsConnectOverdue(now);
    private readonly Func<Session, long, bool> isIdle;
    private int running;
    private long nextIdleSweep;

    public IdleSweeper(EngineContext context, Action tick)
    {
        this.context = context;
        this.tick = tick;
        var idleMs = context.IdleTimeoutMs;
        isIdle = (s, now) => s.IsIdle(now, idleMs);
        Period = ChoosePeriod(context);
    }

    public TimeSpan Period { get; }

    /// <summary>Starts the ticks on the context's transport.</summary>
    public void Start() => ticks = context.Transport.Schedule(Sweep, Period);

    /// <summary>
    /// Stops the ticks; false when a tick under way has not ended in time (the engine's stop
    /// thread blocks on this).
    /// </summary>
    public bool Stop() => ticks?.Stop() ?? true;

    /// <summary>A tenth of the shortest timeout, between 10 and 50 ms: timeouts fire within 10 % late.</summary>
    private static TimeSpan ChoosePeriod(EngineContext context)
    {
        var shortest = context.ConnectTimeoutMs;
        if (context.IdleTimeoutMs > 0)
        {
            shortest = Math.Min(shortest, context.IdleTimeoutMs);
        }

        return TimeSpan.FromMilliseconds(Math.Clamp(shortest / 10, 10, 50));
    }

    private void Sweep()
    {
        if (Interlocked.Exchange(ref running, 1) != 0)
        {
            return;
        }

        try
        {
            tick();
            var now = Environment.TickCount64;
            if (context.ConnectsInFlight > 0)
            {
                context.Sessions.Collect(due, isConnectOverdue, now);
                foreach (var s in due)
                {
                    s.TimeOutConnect(now);
                }
            }

            // Idle checks need only a tenth of the idle timeout's resolution, not every tick.
            if (context.IdleTimeoutMs > 0 && now >= nextIdleSweep)
            {
                nextIdleSweep = now + Math.Max(context.IdleTimeoutMs / 10, 1);
                context.Sessions.Collect(due, isIdle, now);
                foreach (var s in due)
                {
                    var seconds = context.IdleTimeoutMs / 1000.0;
                    var text = string.Create(CultureInfo.InvariantCulture, $"timed out after {seconds:0.###} seconds");
                    context.Debug?.WriteLine(text);
                    context.Publish(EngineEventKind.IdleTimeout, s.Group, s.Channel, $"{s.Remote.Address}: {text}");
                    s.Abort();
                }
            }

            due.Clear();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context.Publish(EngineEventKind.Error, -1, -1, "sweeper: " + e.Message);
        }
        finally
        {
            Volatile.Write(ref running, 0);
        }

        // After the sweep, outside its guard: the listener that goes on here may accept at once.
        context.NextTick.Release();
    }
}
