using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Control;
using Balance.Policies;
using Balance.Transport;

namespace Balance.Proxy;

/// <summary>
/// One worker of an engine: its own transport (and with it its own loop and pipes), listening
/// socket, session table, sweeper and counters. Workers share the control segment and nothing
/// else that changes: a client accepted by a worker is connected and relayed by it to the end.
/// Constructing one does nothing; <see cref="Start"/> starts its transport, <see cref="Run"/>
/// its sweeper and accept loop.
/// </summary>
internal sealed class Worker
{
    private readonly EngineContext context;
    private readonly Listener[] listeners;
    private readonly IdleSweeper sweeper;
    private readonly Action<Exception> acceptFailed;

    /// <param name="context">The worker's transport, counters and sessions.</param>
    /// <param name="listeners">The worker's listening sockets, each with its accept loop (one, or several after a takeover from an engine with more workers).</param>
    /// <param name="tick">The engine's own periodic check, run with each sweep.</param>
    /// <param name="acceptFailed">Hears of an accept loop that died of a bug: the engine stops.</param>
    public Worker(EngineContext context, Listener[] listeners, Action tick, Action<Exception> acceptFailed)
    {
        this.context = context;
        this.listeners = listeners;
        this.acceptFailed = acceptFailed;
        var closer = new SessionCloser(context);
        sweeper = new IdleSweeper(context, () =>
        {
            tick();
            context.Health?.Tick();
            closer.Tick();
        });
    }

    public EngineContext Context => context;

    /// <summary>Live sessions of this worker.</summary>
    public int SessionCount => context.Sessions.Count;

    /// <summary>Starts the transport for <paramref name="descriptors"/> descriptors, this worker's share of the limit.</summary>
    public void Start(long? descriptors) => context.Start(descriptors);

    /// <summary>Starts the sweeper's ticks and accepting.</summary>
    public void Run()
    {
        sweeper.Start();
        foreach (var listener in listeners)
        {
            _ = AcceptAsync(listener);
        }
    }

    /// <summary>Closes the listening sockets: no new client from here on.</summary>
    public void StopAccepting()
    {
        foreach (var listener in listeners)
        {
            listener.Dispose();
        }
    }

    /// <summary>Refuses new sessions and aborts the live ones.</summary>
    public void AbortSessions()
    {
        context.Sessions.Close();
        var rest = new List<Session>();
        context.Sessions.Collect(rest, static (_, _) => true, 0);
        foreach (var s in rest)
        {
            s.Abort();
        }
    }

    /// <summary>
    /// Stops the sweeper's ticks, then the transport (whose stop waits for a tick under way on its
    /// loop). False when a tick or the transport's thread did not end in time and may still run.
    /// </summary>
    public bool StopMachinery()
    {
        var ticksOver = sweeper.Stop();
        var checksOver = context.Health?.Stop() ?? true;
        return context.Stop() && ticksOver && checksOver;
    }

    private async Task AcceptAsync(Listener listener)
    {
        try
        {
            await listener.RunAsync(OnAccepted, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context.Publish(EngineEventKind.Error, -1, -1, "accept loop: " + e.Message);
            acceptFailed(e);
        }
    }

    private void OnAccepted(ISessionSocket client, IPEndPoint remote)
    {
        context.Counters.Accepted();
        try
        {
            if (context.Debug is { } debug)
            {
                var length = remote.AddressFamily == AddressFamily.InterNetworkV6 ? 28 : 16;
                debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"connect from {remote.Address} clilen={length}"));
            }

            // % groups take the original's fold modulo; Maglev groups look up the strong key.
            var hash = ClientHash.Compute(remote.Address);
            var key = ClientHash.Key(remote.Address);
            var choice = context.Selector.Select(0, hash, key, context.HashFailover, context.Debug);
            if (!choice.Found)
            {
                context.Counters.Rejected();
                context.Publish(EngineEventKind.NoChannel, -1, -1, $"no usable channel for {remote.Address}: connection closed");
                client.Dispose();
                return;
            }

            var session = new Session(context, client, remote, hash, key);
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
}
