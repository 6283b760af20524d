using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;
using Balance.Metrics;
using Balance.Policies;
using Balance.Transport;
using Balance.Transport.Epoll;

namespace Balance.Proxy;

/// <summary>
/// One running proxy: one listen endpoint, one control segment, and its workers (<see cref="Worker"/>),
/// one per CPU unless configured otherwise. Start binds, takes the endpoint's owner lock, publishes
/// the configuration in a fresh segment and accepts; every decision after that reads the live segment. Stop (StopAsync, DisposeAsync or a kill request in the segment)
/// closes the listener, lets sessions finish for the grace period, closes the rest, and removes
/// the segment and the owner lock.
/// </summary>
public sealed partial class BalanceEngine : IAsyncDisposable
{
    /// <summary>How long stopping waits for aborted sessions to unwind before giving up on them.</summary>
    private static readonly TimeSpan AbortWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(20);

    private readonly ControlSegment segment;
    private readonly BalanceConfiguration configuration;
    private readonly Listener[] listeners;
    private readonly Worker[] workers;
    private readonly FileLock ownerLock;
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SegmentWatch segmentWatch;
    private readonly DescriptorBudget budget;
    private readonly StateFileKeeper? stateFile;
    private readonly StopThread stopThread;
    private MetricsServer? metrics;
    private TakeoverServer? takeoverServer;
    private long takeoverRetryAt; // Environment.TickCount64 of the next try to listen for takeovers; 0: none due
    private int stopping;
    private long drainDeadline = long.MaxValue; // Environment.TickCount64 when the grace period ends

    /// <summary>1 while the segment's name and owner file are this engine's to remove at stop (not before a takeover commits, nor after a handover).</summary>
    private int ownsName = 1;

    // perWorker: each worker's listeners (one each at start; a takeover may give a worker several).
    private BalanceEngine(ControlSegment segment, BalanceConfiguration configuration, OutboundBinding outbound, EngineOutput output, Listener[][] perWorker, FileLock ownerLock)
    {
        this.segment = segment;
        this.configuration = configuration;
        listeners = perWorker.SelectMany(l => l).ToArray();
        this.ownerLock = ownerLock;
        var writers = EngineWriters.From(output);
        budget = new DescriptorBudget(
            text =>
            {
                writers.Notices?.WriteLine(text);
                EventRing.Publish(segment, EngineEventKind.AcceptError, -1, -1, text);
            },
            text => EventRing.Publish(segment, EngineEventKind.AcceptError, -1, -1, text));
        workers = new Worker[perWorker.Length];
        for (var i = 0; i < workers.Length; i++)
        {
            var context = new EngineContext(segment, configuration, outbound, writers, i, budget);
            // One worker's tick also watches the segment, so a fault is reported once.
            workers[i] = new Worker(context, perWorker[i], i == 0 ? OnTick : CheckKillRequest, e => BeginStop(TimeSpan.Zero, e));
        }
        segmentWatch = new SegmentWatch(segment, ReportFault);
        stateFile = configuration.StateFile is { } path ? new StateFileKeeper(segment, path, text => ReportFault(-1, -1, text)) : null;
        stopThread = new StopThread("balance stop");
    }

    /// <summary>
    /// Validates <paramref name="configuration"/>, resolves every channel, binds and listens, takes
    /// the endpoint's owner lock, creates the control segment and starts accepting. Returns once
    /// the listener is up. Every failure is a <see cref="ConfigurationException"/> whose message
    /// names the bad token and whose ExitCode is the original's sysexits code (65 unknown back-end
    /// or -B address, 66 segment directory unusable, 71 bind/listen failure or another engine
    /// already owning this endpoint).
    /// </summary>
    public static BalanceEngine Start(BalanceConfiguration configuration, EngineOutput? output = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Validate();
        _ = TransportFactory.RuntimeSocketsRequested(); // a bad BALANCE_IO fails here, before anything is bound
        var config = configuration.WithLimitsSized();
        output ??= new EngineOutput();
        var addresses = ResolveChannels(config);
        var outbound = OutboundBinding.Resolve(config.OutboundAddress);
        var listenAddress = SegmentName.ResolveListenAddress(config.BindAddress, config.IPv6);
        var name = SegmentName.FromNormalized(listenAddress.ToString(), config.Port);

        var listeners = Listener.BindAll(new IPEndPoint(listenAddress, config.Port), config.EffectiveWorkers, config.Keepalive);
        FileLock? ownerLock = null;
        ControlSegment? segment = null;
        BalanceEngine? engine = null;
        MetricsServer? metrics = null;
        try
        {
            ownerLock = AcquireOwnerLock(name);
            segment = CreateSegment(name, config, stripes: listeners.Length);
            ConfigurationWriter.Write(segment, config, addresses);
            engine = new BalanceEngine(segment, config, outbound, output, listeners.Select(l => new[] { l }).ToArray(), ownerLock);
            metrics = config.MetricsEndpoint is { } at ? MetricsServer.Start(at, name) : null;
            engine.metrics = metrics;
            engine.StartWorkers();
            engine.Begin();
            engine.ListenForTakeover();
            return engine;
        }
        catch
        {
            metrics?.Dispose();
            engine?.stopThread.Cancel();
            engine?.StopWorkers();
            engine?.budget.Dispose();
            segment?.Dispose();
            if (ownerLock is not null)
            {
                TryDelete(name.Path);
                ownerLock.DeleteOnDispose();
                ownerLock.Dispose();
            }

            foreach (var listener in listeners)
            {
                listener.Dispose();
            }

            throw;
        }
    }

    /// <summary>The instance the engine serves; control clients open it by this name.</summary>
    public SegmentName Name => segment.Name;

    /// <summary>The workers' transport ("epoll" or "sockets"), for diagnostics and tests.</summary>
    internal string TransportName => workers[0].Context.Transport.Name;

    /// <summary>True when sessions run on the epoll transport, for diagnostics and tests.</summary>
    internal bool OnLoop => workers[0].Context.Transport is EpollTransport;

    /// <summary>Every worker's splice pipes together (null on the sockets transport or without pipes), for diagnostics and tests.</summary>
    internal PipePools? Pipes => PipePools.Of(workers.Select(w => (w.Context.Transport as EpollTransport)?.Pipes));

    /// <summary>How many workers relay.</summary>
    internal int WorkerCount => workers.Length;

    /// <summary>Clients each worker accepted, for diagnostics and tests.</summary>
    internal long[] AcceptedPerWorker => workers.Select(w => w.Context.Counters.AcceptedHere).ToArray();

    /// <summary>The bound endpoint (the real port when 0 was asked for is not supported: Port must be 1-65535).</summary>
    public IPEndPoint LocalEndPoint => listeners[0].LocalEndPoint;

    /// <summary>The process the engine runs in (the segment's owner pid), for reports of a takeover.</summary>
    public int ProcessId => segment.Header.OwnerPid;

    /// <summary>Completes when the engine has stopped (kill request through the segment, StopAsync, or a fatal error: faulted).</summary>
    public Task Completion => completion.Task;

    /// <summary>
    /// Stops accepting, lets live sessions finish for up to <paramref name="grace"/> (default: the
    /// configured grace period), closes the rest, removes the segment. Called again while stopping,
    /// a shorter grace period cuts the running one short (a second signal: zero).
    /// </summary>
    public Task StopAsync(TimeSpan? grace = null)
    {
        BeginStop(grace ?? configuration.GracePeriod, null);
        return Completion;
    }

    /// <summary>Stops with the configured grace period and waits; a fault is left to <see cref="Completion"/>, not thrown.</summary>
    public async ValueTask DisposeAsync()
    {
        BeginStop(configuration.GracePeriod, null);
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A fault was reported through Completion already; disposing must not throw it again.
        }
    }

    private static IPAddress[][] ResolveChannels(BalanceConfiguration config)
    {
        var result = new IPAddress[config.Groups.Count][];
        for (var g = 0; g < config.Groups.Count; g++)
        {
            var channels = config.Groups[g].Channels;
            result[g] = new IPAddress[channels.Count];
            for (var c = 0; c < channels.Count; c++)
            {
                try
                {
                    result[g][c] = ChannelAddress.Resolve(channels[c].Host);
                }
                catch (ControlException e)
                {
                    throw new ConfigurationException(
                        $"unknown or invalid address [{channels[c].Host}] in channel {channels[c].Destination}: {e.InnerException?.Message ?? "the name has no address"}; check the host name",
                        channels[c].Destination,
                        ExitCodes.DataError);
                }
            }
        }

        return result;
    }

    private static FileLock AcquireOwnerLock(SegmentName name)
    {
        FileLock? acquired;
        try
        {
            acquired = FileLock.TryAcquire(name.OwnerLockPath);
        }
        catch (ForeignFileException e)
        {
            throw new ConfigurationException(e.Message, name.OwnerLockPath, ExitCodes.NoPermission);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(
                $"cannot create the control segment lock {name.OwnerLockPath}: {e.Message}; check that {SegmentName.Directory} exists and is writable (or set BALANCE_SEGMENT_DIR)",
                name.OwnerLockPath,
                ExitCodes.NoInput);
        }

        if (acquired is not null)
        {
            return acquired;
        }

        var pid = "unknown pid";
        try
        {
            using var existing = ControlSegment.Open(name);
            pid = "pid " + existing.Header.OwnerPid.ToString(CultureInfo.InvariantCulture);
        }
        catch (ControlException)
        {
            // Still starting up or damaged: the lock alone proves it is alive.
        }

        var endpoint = ControlSegment.Endpoint(name);
        throw new ConfigurationException(
            $"another Balance instance ({pid}) already serves {endpoint}; stop it first (balance -c kill, or Stop-Balance)",
            endpoint,
            ExitCodes.OsError);
    }

    /// <summary>One stripe per worker; the engine has one. A file planted under the name is refused with its cure.</summary>
    private static ControlSegment CreateSegment(SegmentName name, BalanceConfiguration config, int stripes)
    {
        try
        {
            return ControlSegment.Create(name, config, stripes: stripes, sealedMemory: true); // a counter stripe per worker
        }
        catch (ForeignFileException e)
        {
            throw new ConfigurationException(e.Message, name.Path, ExitCodes.NoPermission);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the next engine on this endpoint replaces a leftover segment anyway.
        }
    }

    /// <summary>
    /// Starts every worker's transport, each with its share of the descriptor limit, which is
    /// raised to the hard limit first.
    /// </summary>
    private void StartWorkers()
    {
        RuntimeThreads.StartPool();
        var share = DescriptorLimit.WorkerShare(DescriptorLimit.RaiseSoftLimit(), workers.Length);
        foreach (var worker in workers)
        {
            worker.Start(share);
        }

        // The first count before the first accept: a limit changed from here on is noticed.
        budget.Tick();
    }

    /// <summary>Stops every worker's machinery; false when one did not end in time.</summary>
    private bool StopWorkers()
    {
        var stopped = true;
        foreach (var worker in workers)
        {
            stopped &= worker.StopMachinery();
        }

        return stopped;
    }

    private int SessionCount => workers.Sum(w => w.SessionCount);

    private void Begin()
    {
        var first = workers[0].Context;
        if (first.Debug is { } debug)
        {
            debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"source port {configuration.Port}"));
            debug.WriteLine($"file {segment.Name.Path} created");
            debug.WriteLine("listening on " + ChannelSpec.FormatDestination(LocalEndPoint.Address.ToString(), LocalEndPoint.Port));
            debug.WriteLine(LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? "using AF_INET6" : "using AF_UNSPEC");
            debug.WriteLine("the following channels are active:");
            for (var g = 0; g < segment.MaxGroups; g++)
            {
                for (var c = 0; c < segment.ChannelCount(g); c++)
                {
                    var endpoint = first.Endpoints.Get(g, c);
                    debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{g,3} {c,2} {endpoint.Address}:{endpoint.Port}:{segment.Record(g, c).MaxConnections}"));
                }
            }
        }

        Volatile.Write(ref segment.Header.State, (int)EngineState.Running);
        Publish(EngineEventKind.Started, "listening on " + ChannelSpec.FormatDestination(LocalEndPoint.Address.ToString(), LocalEndPoint.Port));
        foreach (var worker in workers)
        {
            worker.Run();
        }
    }

    private void Publish(EngineEventKind kind, string message) => EventRing.Publish(segment, kind, -1, -1, message);

    private void OnTick()
    {
        CheckKillRequest();
        segmentWatch.Check();
        budget.Tick();
        stateFile?.Tick();
        RetryTakeoverListen();
    }

    private void ReportFault(int group, int channel, string message)
    {
        EventRing.Publish(segment, EngineEventKind.Error, group, channel, message);
        workers[0].Context.Notices?.WriteLine(message);
    }

    private void CheckKillRequest()
    {
        // Taking the request (1 -> 2) races with a client withdrawing it (1 -> 0): one wins.
        if (Interlocked.CompareExchange(ref segment.Header.KillRequested, KillRequest.Taken, KillRequest.Asked) != KillRequest.None)
        {
            BeginStop(configuration.GracePeriod, null);
        }
    }

    private void BeginStop(TimeSpan grace, Exception? fault)
    {
        ShortenGrace(Environment.TickCount64 + (long)grace.TotalMilliseconds);
        if (Interlocked.Exchange(ref stopping, 1) != 0)
        {
            return;
        }

        // On the thread started with the engine: out of descriptors no thread could start now.
        // On the epoll transport the sessions it aborts unwind on the loop's thread, bulk
        // directions that yielded included.
        stopThread.Run(() => StopCore(grace, fault));
    }

    /// <summary>The earliest deadline any stop asked for wins.</summary>
    private void ShortenGrace(long deadline)
    {
        var current = Volatile.Read(ref drainDeadline);
        while (deadline < current)
        {
            var seen = Interlocked.CompareExchange(ref drainDeadline, deadline, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void StopCore(TimeSpan grace, Exception? fault)
    {
        bool? machineryStopped = null;
        try
        {
            Volatile.Write(ref segment.Header.State, (int)EngineState.Stopping);
            Publish(EngineEventKind.Stopping, string.Create(CultureInfo.InvariantCulture, $"stopping: {SessionCount} sessions get {grace.TotalSeconds:0.###} s to finish"));
            foreach (var worker in workers)
            {
                worker.StopAccepting();
            }

            while (SessionCount > 0 && Environment.TickCount64 < Volatile.Read(ref drainDeadline))
            {
                Thread.Sleep(DrainPoll);
            }

            foreach (var worker in workers)
            {
                worker.AbortSessions();
            }

            var deadline = Environment.TickCount64 + (long)AbortWait.TotalMilliseconds;
            while (SessionCount > 0 && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(DrainPoll);
            }

            machineryStopped = StopWorkers();
            stateFile?.Flush();
            Volatile.Write(ref segment.Header.State, (int)EngineState.Stopped);
            Publish(EngineEventKind.Stopped, "stopped");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            fault ??= e;
        }
        finally
        {
            // On this thread an exception that escaped would end the process, and Completion
            // would never be set: a failure here is reported through Completion instead.
            try
            {
                // After a failure above, the machinery is stopped here (no tick may read the
                // mapping once it is gone). A session that did not unwind, or a tick or loop
                // that did not end, may still touch the mapping: then it stays mapped.
                machineryStopped ??= StopWorkers();
                takeoverServer?.Dispose();
                Volatile.Read(ref metrics)?.Dispose();
                var mine = Volatile.Read(ref ownsName) != 0;
                if (machineryStopped.Value && SessionCount == 0)
                {
                    segment.Dispose();
                }

                if (mine)
                {
                    // After a handover the name and the owner file are the new engine's.
                    TryDelete(segment.Name.Path);
                    TryDelete(segment.Name.ControlLockPath);
                    ownerLock.DeleteOnDispose();
                }

                budget.Dispose();
                ownerLock.Dispose();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                fault ??= e;
            }
            finally
            {
                if (fault is null)
                {
                    completion.TrySetResult();
                }
                else
                {
                    completion.TrySetException(fault);
                }
            }
        }
    }
}

/// <summary>Where -d trace lines, -p packet dumps and notices go. Null writers = off.</summary>
public sealed class EngineOutput
{
    /// <summary>Receives the <c>-d</c> trace lines; null = no tracing.</summary>
    public TextWriter? Debug { get; init; }

    /// <summary>Receives the <c>-p</c> dump of relayed data; null = no dump.</summary>
    public TextWriter? PacketDump { get; init; }

    /// <summary>
    /// Notices the original printed even without <c>-d</c> (the autodisable message, accept
    /// trouble); the command line passes stderr. Null = the <see cref="Debug"/> writer.
    /// </summary>
    public TextWriter? Notices { get; init; }
}
