using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;
using Balance.Metrics;
using Balance.Policies;

namespace Balance.Proxy;

/// <summary>
/// One running proxy: one listen endpoint, one control segment. Start binds, takes the endpoint's
/// owner lock, publishes the configuration in a fresh segment and accepts; every decision after
/// that reads the live segment. Stop (StopAsync, DisposeAsync or a kill request in the segment)
/// closes the listener, lets sessions finish for the grace period, closes the rest, and removes
/// the segment and the owner lock.
/// </summary>
public sealed class BalanceEngine : IAsyncDisposable
{
    /// <summary>How long stopping waits for aborted sessions to unwind before giving up on them.</summary>
    private static readonly TimeSpan AbortWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(20);

    private readonly EngineContext context;
    private readonly Listener listener;
    private readonly FileLock ownerLock;
    private readonly IdleSweeper sweeper;
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool debugAccepts;
    private MetricsServer? metrics;
    private int stopping;

    private BalanceEngine(EngineContext context, Listener listener, FileLock ownerLock)
    {
        this.context = context;
        this.listener = listener;
        this.ownerLock = ownerLock;
        debugAccepts = context.Debug is not null;
        sweeper = new IdleSweeper(context, CheckKillRequest);
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
        _ = EngineContext.RuntimeSocketsRequested(); // a bad BALANCE_IO fails here, before anything is bound
        var config = configuration.WithLimitsSized();
        output ??= new EngineOutput();
        var addresses = ResolveChannels(config);
        var outbound = OutboundBinding.Resolve(config.OutboundAddress);
        var listenAddress = SegmentName.ResolveListenAddress(config.BindAddress, config.IPv6);
        var name = SegmentName.FromNormalized(listenAddress.ToString(), config.Port);

        var listener = Listener.Bind(new IPEndPoint(listenAddress, config.Port));
        FileLock? ownerLock = null;
        ControlSegment? segment = null;
        EngineContext? context = null;
        MetricsServer? metrics = null;
        try
        {
            ownerLock = AcquireOwnerLock(name);
            segment = ControlSegment.Create(name, config, stripes: 1); // one stripe per worker; the engine has one
            ConfigurationWriter.Write(segment, config, addresses);
            context = new EngineContext(segment, config, outbound, output);
            metrics = config.MetricsEndpoint is { } at ? MetricsServer.Start(at, name) : null;
            var engine = new BalanceEngine(context, listener, ownerLock) { metrics = metrics };
            engine.Begin();
            return engine;
        }
        catch
        {
            metrics?.Dispose();
            context?.Loop?.Dispose();
            context?.Pipes?.Dispose();
            segment?.Dispose();
            if (ownerLock is not null)
            {
                TryDelete(name.Path);
                ownerLock.DeleteOnDispose();
                ownerLock.Dispose();
            }

            listener.Dispose();
            throw;
        }
    }

    public SegmentName Name => context.Segment.Name;

    /// <summary>True when sessions run on the engine's epoll loop, for diagnostics and tests.</summary>
    internal bool OnLoop => context.Loop is not null;

    /// <summary>The engine's splice pipes (null without the epoll loop), for diagnostics and tests.</summary>
    internal PipePool? Pipes => context.Pipes;

    /// <summary>The bound endpoint (the real port when 0 was asked for is not supported: Port must be 1-65535).</summary>
    public IPEndPoint LocalEndPoint => listener.LocalEndPoint;

    /// <summary>Completes when the engine has stopped (kill request through the segment, StopAsync, or a fatal error: faulted).</summary>
    public Task Completion => completion.Task;

    /// <summary>Stops accepting, lets live sessions finish for up to <paramref name="grace"/> (default: the configured grace period), closes the rest, removes the segment.</summary>
    public Task StopAsync(TimeSpan? grace = null)
    {
        BeginStop(grace ?? context.Configuration.GracePeriod, null);
        return Completion;
    }

    public async ValueTask DisposeAsync()
    {
        BeginStop(context.Configuration.GracePeriod, null);
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

    private void Begin()
    {
        var segment = context.Segment;
        var debug = context.Debug;
        if (debug is not null)
        {
            debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"source port {context.Configuration.Port}"));
            debug.WriteLine($"file {segment.Name.Path} created");
            debug.WriteLine("listening on " + ChannelSpec.FormatDestination(LocalEndPoint.Address.ToString(), LocalEndPoint.Port));
            debug.WriteLine(LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? "using AF_INET6" : "using AF_UNSPEC");
            debug.WriteLine("the following channels are active:");
            for (var g = 0; g < segment.MaxGroups; g++)
            {
                for (var c = 0; c < segment.ChannelCount(g); c++)
                {
                    var endpoint = context.Endpoints.Get(g, c);
                    debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{g,3} {c,2} {endpoint.Address}:{endpoint.Port}:{segment.Record(g, c).MaxConnections}"));
                }
            }
        }

        Volatile.Write(ref segment.Header.State, (int)EngineState.Running);
        context.Publish(EngineEventKind.Started, -1, -1, "listening on " + ChannelSpec.FormatDestination(LocalEndPoint.Address.ToString(), LocalEndPoint.Port));
        _ = AcceptAsync();
    }

    private async Task AcceptAsync()
    {
        try
        {
            await listener.RunAsync(OnAccepted, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context.Publish(EngineEventKind.Error, -1, -1, "accept loop: " + e.Message);
            BeginStop(TimeSpan.Zero, e);
        }
    }

    private void OnAccepted(ISessionSocket client, IPEndPoint remote)
    {
        Interlocked.Increment(ref context.Totals.Accepted);
        try
        {
            Listener.ConfigureAccepted(client);
            if (debugAccepts)
            {
                var length = remote.AddressFamily == AddressFamily.InterNetworkV6 ? 28 : 16;
                context.Debug!.WriteLine(string.Create(CultureInfo.InvariantCulture, $"connect from {remote.Address} clilen={length}"));
            }

            var hash = ClientHash.Compute(remote.Address);
            var choice = context.Selector.Select(0, hash, context.HashFailover, context.Debug);
            if (!choice.Found)
            {
                Interlocked.Increment(ref context.Totals.Rejected);
                context.Publish(EngineEventKind.NoChannel, -1, -1, $"no usable channel for {remote.Address}: connection closed");
                client.Dispose();
                return;
            }

            var session = new Session(context, client, remote, hash);
            session.Assign(choice);
            if (!context.Sessions.TryAdd(session))
            {
                session.Finish();
                return;
            }

            _ = context.Connector.RunAsync(session, choice);
        }
        catch (SocketException)
        {
            // The client vanished between accept and setup (ENOTCONN and the like).
            client.Dispose();
        }
        catch (ObjectDisposedException)
        {
            client.Dispose();
        }
    }

    /// <summary>
    /// Stops the sweeper's ticks, then the epoll loop (which waits for a tick under way), then the
    /// pipes. False when a tick or the loop's thread did not end in time and may still run.
    /// </summary>
    private bool StopMachinery()
    {
        var ticksOver = sweeper.Stop();
        context.Loop?.Dispose();
        context.Pipes?.Dispose();
        return ticksOver && context.Loop?.IsRunning != true;
    }

    private void CheckKillRequest()
    {
        if (Volatile.Read(ref context.Segment.Header.KillRequested) != 0)
        {
            BeginStop(context.Configuration.GracePeriod, null);
        }
    }

    private void BeginStop(TimeSpan grace, Exception? fault)
    {
        if (Interlocked.Exchange(ref stopping, 1) != 0)
        {
            return;
        }

        // A thread of its own, not the pool: the stop's timing must hold in a host process
        // whose pool is busy (a PowerShell session, a test host). With the epoll loop the
        // sessions it aborts unwind on the loop's thread too, bulk directions that yielded
        // included. It sleeps while it waits and ends with the stop.
        new Thread(() => StopCore(grace, fault)) { IsBackground = true, Name = "balance stop" }.Start();
    }

    private void StopCore(TimeSpan grace, Exception? fault)
    {
        var segment = context.Segment;
        bool? machineryStopped = null;
        try
        {
            Volatile.Write(ref segment.Header.State, (int)EngineState.Stopping);
            context.Publish(EngineEventKind.Stopping, -1, -1, string.Create(CultureInfo.InvariantCulture, $"stopping: {context.Sessions.Count} sessions get {grace.TotalSeconds:0.###} s to finish"));
            listener.Dispose();

            var deadline = Environment.TickCount64 + (long)grace.TotalMilliseconds;
            while (context.Sessions.Count > 0 && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(DrainPoll);
            }

            context.Sessions.Close();
            var rest = new List<Session>();
            context.Sessions.Collect(rest, static (_, _) => true, 0);
            foreach (var s in rest)
            {
                s.Abort();
            }

            deadline = Environment.TickCount64 + (long)AbortWait.TotalMilliseconds;
            while (context.Sessions.Count > 0 && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(DrainPoll);
            }

            machineryStopped = StopMachinery();
            Volatile.Write(ref segment.Header.State, (int)EngineState.Stopped);
            context.Publish(EngineEventKind.Stopped, -1, -1, "stopped");
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
                machineryStopped ??= StopMachinery();
                metrics?.Dispose();
                if (machineryStopped.Value && context.Sessions.Count == 0)
                {
                    segment.Dispose();
                }

                TryDelete(segment.Name.Path);
                TryDelete(segment.Name.ControlLockPath);
                ownerLock.DeleteOnDispose();
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
    public TextWriter? Debug { get; init; }

    public TextWriter? PacketDump { get; init; }

    /// <summary>
    /// Notices the original printed even without <c>-d</c> (the autodisable message, accept
    /// trouble); the command line passes stderr. Null = the <see cref="Debug"/> writer.
    /// </summary>
    public TextWriter? Notices { get; init; }
}
