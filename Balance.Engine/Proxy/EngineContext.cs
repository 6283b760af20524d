using Balance.Configuration;
using Balance.Control;
using Balance.Health;
using Balance.Policies;
using Balance.Transport;

namespace Balance.Proxy;

/// <summary>
/// What every part of one worker shares: the engine's segment, options and writers, and the
/// worker's own transport, sessions, endpoint cache and counters. Constructing it only keeps what
/// it is given; <see cref="Start()"/> raises the descriptor limit, reads the environment and
/// starts the transport.
/// </summary>
internal sealed class EngineContext
{
    private int connectsInFlight;
    private ITransport? transport;
    private int sessionCeiling;

    /// <summary>A context for a lone worker (tests, benchmarks), with writers of its own.</summary>
    public EngineContext(ControlSegment segment, BalanceConfiguration configuration, OutboundBinding outbound, EngineOutput output)
        : this(segment, configuration, outbound, EngineWriters.From(output), 0)
    {
    }

    /// <summary>
    /// The context of worker <paramref name="worker"/>; every worker of an engine shares
    /// <paramref name="writers"/> and <paramref name="budget"/> (null: the cap set at start holds).
    /// </summary>
    public EngineContext(ControlSegment segment, BalanceConfiguration configuration, OutboundBinding outbound, EngineWriters writers, int worker, DescriptorBudget? budget = null)
    {
        Budget = budget;
        budget?.Add(this);
        Segment = segment;
        Configuration = configuration;
        Outbound = outbound;
        Debug = writers.Debug;
        Dump = writers.Dump;
        Notices = writers.Notices;
        Counters = new WorkerCounters(segment, worker);
        Endpoints = new EndpointCache(segment);
        Selector = new ChannelSelector(segment, message => Publish(EngineEventKind.Error, -1, -1, message));
        ConnectTimeoutMs = (long)configuration.ConnectTimeout.TotalMilliseconds;
        IdleTimeoutMs = (long)configuration.IdleTimeout.TotalMilliseconds;
        Connector = new Connector(this);
        var checks = configuration.Checks;
        if (checks.Active || checks.Passive)
        {
            var health = new HealthWriter(segment, Debug);
            Passive = checks.Passive ? new PassiveHealth(segment, checks, health) : null;
            var probe = HealthMonitor.ProbeFor(checks, outbound.V4, outbound.V6);
            Health = new HealthMonitor(segment, checks, health, probe, worker, segment.StripeCount, message => Publish(EngineEventKind.Error, -1, -1, message));
        }
    }

    /// <summary>This worker's share of the active checks and retry periods; null when neither active nor passive checks are on.</summary>
    public HealthMonitor? Health { get; }

    /// <summary>Counts clients' failed connects when passive checks are on; null otherwise.</summary>
    public PassiveHealth? Passive { get; }

    /// <summary>The transport that accepts, connects and relays; set by <see cref="Start(long?)"/>.</summary>
    public ITransport Transport => transport ?? throw new InvalidOperationException("the engine context is not started");

    /// <summary>The transport, or null before <see cref="Start(long?)"/>.</summary>
    public ITransport? TransportOrNull => Volatile.Read(ref transport);

    /// <summary>The engine's descriptor count, cap and shortage episodes; null for a lone worker (tests), whose cap is set at start.</summary>
    public DescriptorBudget? Budget { get; }

    /// <summary>The tick that a listener waiting for descriptors or a free session waits for: never a runtime timer, which needs a new thread.</summary>
    public TickWait NextTick { get; } = new();

    public Connector Connector { get; }

    public ControlSegment Segment { get; }

    public BalanceConfiguration Configuration { get; }

    public OutboundBinding Outbound { get; }

    public TextWriter? Debug { get; }

    public TextWriter? Dump { get; }

    public TextWriter? Notices { get; }

    public EndpointCache Endpoints { get; }

    /// <summary>The failover walk over the groups' policies; one per worker, rebuilt on the segment's change version.</summary>
    public ChannelSelector Selector { get; }

    /// <summary>Where this worker's counter writes go.</summary>
    public WorkerCounters Counters { get; }

    public SessionTable Sessions { get; } = new();

    /// <summary>
    /// Concurrent sessions that fit under the descriptor limit; accepting pauses at this count.
    /// The budget's cap from what is open now, never above what the transport was sized for at start.
    /// </summary>
    public int MaxSessions => Math.Min(sessionCeiling, Budget?.WorkerCap ?? int.MaxValue);

    public long ConnectTimeoutMs { get; }

    /// <summary>0 = sessions never time out.</summary>
    public long IdleTimeoutMs { get; }

    /// <summary>Connect attempts in flight; the sweeper only looks for overdue ones when there are some.</summary>
    public int ConnectsInFlight => Volatile.Read(ref connectsInFlight);

    public bool HashFailover => Configuration.HashFailover;

    public bool AutoDisable => Configuration.AutoDisable;

    /// <summary>
    /// Raises the descriptor limit to the hard one, reads <c>BALANCE_IO</c> (a bad value throws
    /// <see cref="ConfigurationException"/>), and starts the transport with every descriptor.
    /// </summary>
    public void Start() => Start(DescriptorLimit.RaiseSoftLimit());

    /// <summary>
    /// Reads <c>BALANCE_IO</c> and starts the transport for a worker that may hold
    /// <paramref name="descriptors"/> descriptors (null = no known limit).
    /// </summary>
    public void Start(long? descriptors)
    {
        var runtime = Configuration.RuntimeSockets || TransportFactory.RuntimeSocketsRequested();
        transport = TransportFactory.Start(runtime, descriptors, Dump, ReportError);
        sessionCeiling = DescriptorLimit.MaxSessions(descriptors, transport.ReservedDescriptors / 2);
    }

    /// <summary>Stops the transport (after the sessions); false when its thread did not end in time.</summary>
    public bool Stop() => transport?.Stop() ?? true;

    public void ConnectStarted() => Interlocked.Increment(ref connectsInFlight);

    public void ConnectEnded() => Interlocked.Decrement(ref connectsInFlight);

    /// <summary>An error of the transport (its loop, a continuation), into the event ring.</summary>
    public void ReportError(int group, int channel, string message) => Publish(EngineEventKind.Error, group, channel, message);

    public void Publish(EngineEventKind kind, int group, int channel, string message) =>
        EventRing.Publish(Segment, kind, group, channel, message);
}

/// <summary>The engine's writers, shared by its workers: sessions write from many threads, and one line or one dump block must never tear.</summary>
internal sealed record EngineWriters(TextWriter? Debug, TextWriter? Dump, TextWriter? Notices)
{
    public static EngineWriters From(EngineOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var debug = output.Debug is null ? null : TextWriter.Synchronized(output.Debug);
        return new EngineWriters(
            debug,
            output.PacketDump is null ? null : TextWriter.Synchronized(output.PacketDump),
            output.Notices is null ? debug : TextWriter.Synchronized(output.Notices));
    }
}
