using Balance.Configuration;
using Balance.Control;
using Balance.Interop;

namespace Balance.Proxy;

/// <summary>What every part of one running engine shares: its segment, options, writers and sessions.</summary>
internal sealed class EngineContext
{
    private int connectsInFlight;

    public EngineContext(ControlSegment segment, BalanceConfiguration configuration, OutboundBinding outbound, EngineOutput output)
    {
        Segment = segment;
        Configuration = configuration;
        Outbound = outbound;

        // Sessions write from many threads; one line or one dump block must never tear.
        Debug = output.Debug is null ? null : TextWriter.Synchronized(output.Debug);
        Dump = output.PacketDump is null ? null : TextWriter.Synchronized(output.PacketDump);
        Notices = output.Notices is null ? Debug : TextWriter.Synchronized(output.Notices);
        Endpoints = new EndpointCache(segment);
        ConnectTimeoutMs = (long)configuration.ConnectTimeout.TotalMilliseconds;
        IdleTimeoutMs = (long)configuration.IdleTimeout.TotalMilliseconds;
        var limit = DescriptorLimit.RaiseSoftLimit();
        var onLoop = !configuration.RuntimeSockets && !RuntimeSocketsRequested() && Libc.IsLinuxX64;
        var pipes = onLoop ? DescriptorLimit.SplicePipes(limit) : 0;
        MaxSessions = DescriptorLimit.MaxSessions(limit, pipes);
        Loop = onLoop ? EpollLoop.TryCreate((2 * MaxSessions) + 64, e => Publish(EngineEventKind.Error, -1, -1, "epoll loop: " + e.Message)) : null;
        if (Loop is null)
        {
            // No loop after all (no descriptor for it): no pipes, so their descriptors serve sessions.
            MaxSessions = DescriptorLimit.MaxSessions(limit);
        }
        else if (pipes > 0)
        {
            Pipes = new PipePool(pipes);
        }
        Relay = new Relay(this);
        Connector = new Connector(this);
    }

    /// <summary>
    /// The engine's own epoll loop for connect and relay waits (Linux x86-64); null = the
    /// runtime's asynchronous socket operations, as on every other system or with
    /// <c>BALANCE_IO=runtime</c> in the environment.
    /// </summary>
    public EpollLoop? Loop { get; }

    /// <summary>The pipes bulk relays splice through, beside the loop; null without the loop or descriptors to spare.</summary>
    public PipePool? Pipes { get; }

    public Relay Relay { get; }

    public Connector Connector { get; }

    public ControlSegment Segment { get; }

    public BalanceConfiguration Configuration { get; }

    public OutboundBinding Outbound { get; }

    public TextWriter? Debug { get; }

    public TextWriter? Dump { get; }

    public TextWriter? Notices { get; }

    public EndpointCache Endpoints { get; }

    public SessionTable Sessions { get; } = new();

    /// <summary>Concurrent sessions that fit under the descriptor limit; accepting pauses at this count.</summary>
    public int MaxSessions { get; }

    public long ConnectTimeoutMs { get; }

    /// <summary>0 = sessions never time out.</summary>
    public long IdleTimeoutMs { get; }

    /// <summary>Connect attempts in flight; the sweeper only looks for overdue ones when there are some.</summary>
    public int ConnectsInFlight => Volatile.Read(ref connectsInFlight);

    public bool HashFailover => Configuration.HashFailover;

    public bool AutoDisable => Configuration.AutoDisable;

    public void ConnectStarted() => Interlocked.Increment(ref connectsInFlight);

    public void ConnectEnded() => Interlocked.Decrement(ref connectsInFlight);

    /// <summary>
    /// True when <c>BALANCE_IO=runtime</c> asks for the runtime's socket operations; unset or
    /// empty means the engine's loop where there is one. Any other value is refused, so a typo
    /// never goes unnoticed behind a silent default.
    /// </summary>
    internal static bool RuntimeSocketsRequested()
    {
        var value = Environment.GetEnvironmentVariable(IoVariable);
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        if (string.Equals(value, "runtime", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        throw new ConfigurationException(
            $"{IoVariable}={value} is not known: unset it (the engine's own epoll loop where there is one) or set it to 'runtime'",
            IoVariable);
    }

    internal const string IoVariable = "BALANCE_IO";

    public void Publish(EngineEventKind kind, int group, int channel, string message) =>
        EventRing.Publish(Segment, kind, group, channel, message);
}
