using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;

namespace Balance.Proxy;

/// <summary>
/// Connects a session to its back-end and fails over. One attempt = a new socket (TCP_NODELAY,
/// SO_KEEPALIVE, optional <c>-B</c> source address of the same family) connected within the
/// connect timeout; the sweeper enforces the deadline, so no timer or token is allocated per
/// attempt. After a failure the next candidate is the rest of the same group scanning forward
/// (each channel once; a hash group only with hash failover), then the following groups with their
/// normal selection — always with the usable check.
/// </summary>
internal sealed class Connector
{
    private readonly EngineContext context;

    public Connector(EngineContext context)
    {
        this.context = context;
    }

    public async Task RunAsync(Session session, ChannelChoice first)
    {
        var choice = first;
        var firstInGroup = first.Channel;
        var scanned = false;
        try
        {
            while (true)
            {
                session.Assign(choice);
                var endpoint = context.Endpoints.Get(choice.Group, choice.Channel);
                ISessionSocket socket;
                try
                {
                    socket = OpenSocket(endpoint.AddressFamily);
                }
                catch (SocketException e)
                {
                    // Out of descriptors or similar: a local problem, not the back-end's fault, so
                    // no failure is counted and nothing is disabled; this client cannot be served.
                    session.ReleaseSlot();
                    Interlocked.Increment(ref context.Totals.Rejected);
                    context.Publish(EngineEventKind.Error, choice.Group, choice.Channel, "cannot open a back-end socket: " + e.Message);
                    context.Notices?.WriteLine("cannot open a back-end socket: " + e.Message);
                    session.Finish();
                    return;
                }

                BindOutbound(socket, endpoint.AddressFamily);

                // On the loop the relay releases a held ACK at the points HeldAck names; the
                // runtime's operations have no such points, so their sockets hold nothing.
                var loop = context.Loop;
                session.BackendAck = loop is not null ? HeldAck.Hold(session, socket.Handle, loop) : null;
                var token = session.BeginAttempt(socket, Environment.TickCount64 + context.ConnectTimeoutMs);
                if (session.IsAborted)
                {
                    socket.Dispose();
                }

                var error = loop is not null
                    ? await ConnectOnLoopAsync(loop, session, socket.Handle, endpoint, token).ConfigureAwait(false)
                    : SocketOperation.ErrorOf(await session.Upstream.ConnectAsync(socket.Runtime!, endpoint).ConfigureAwait(false));

                // Losing the race means the sweeper closed the attempt at its deadline.
                if (!session.TryEndAttempt(token, error == SocketError.Success))
                {
                    error = SocketError.TimedOut;
                }

                if (session.IsAborted)
                {
                    session.Finish();
                    return;
                }

                if (error == SocketError.Success)
                {
                    Interlocked.Increment(ref session.Counters.TotalConnections);
                    if (scanned)
                    {
                        context.Selector.Advance(choice.Group, choice.Channel);
                    }

                    context.Debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trying group {choice.Group} channel {choice.Channel} ... connect to channel {choice.Channel} successful"));
                    context.Relay.Start(session);
                    return;
                }

                if (session.BackendIo is { } failedIo)
                {
                    session.DetachBackendIo(failedIo);
                }

                socket.Dispose();
                ReportFailure(choice, endpoint, error == SocketError.TimedOut, error);
                session.ReleaseSlot();

                var next = context.Selector.NextInGroup(choice.Group, choice.Channel, firstInGroup, context.HashFailover);
                ChannelChoice following;
                if (next >= 0)
                {
                    following = new ChannelChoice(choice.Group, next);
                    scanned = true;
                }
                else
                {
                    following = context.Selector.Select(choice.Group + 1, session.ClientHash, context.HashFailover, context.Debug);
                    firstInGroup = following.Channel;
                    scanned = false;
                }

                if (!following.Found)
                {
                    Interlocked.Increment(ref context.Totals.Rejected);
                    context.Publish(EngineEventKind.NoChannel, choice.Group, choice.Channel, $"no usable channel left for {session.Remote.Address}: connection closed");
                    session.Finish();
                    return;
                }

                context.Publish(
                    EngineEventKind.Failover,
                    following.Group,
                    following.Channel,
                    string.Create(CultureInfo.InvariantCulture, $"failover from group {choice.Group} channel {choice.Channel} to group {following.Group} channel {following.Channel}"));
                choice = following;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug must cost one connection, never the engine.
            context.Publish(EngineEventKind.Error, choice.Group, choice.Channel, "connect: " + e.Message);
            session.Finish();
        }
    }

    /// <summary>A back-end socket with TCP_NODELAY and SO_KEEPALIVE: a bare descriptor on the engine's loop.</summary>
    private ISessionSocket OpenSocket(AddressFamily family) =>
        context.Loop is not null ? DescriptorSocket.Open(family) : RuntimeSocket.Open(family);

    /// <summary>
    /// The connect on the engine's epoll loop: started with the system call, then a wait until the
    /// socket is writable. The socket joins the loop only once the connect is in progress: a socket
    /// not yet connecting reports itself writable and hung up at once.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<SocketError> ConnectOnLoopAsync(EpollLoop loop, Session session, SafeHandle socket, IPEndPoint endpoint, long token)
    {
        SocketError error;
        SocketRegistration io;
        try
        {
            error = NonBlockingConnect.Start(socket, endpoint);
            if (error != SocketError.InProgress && error != SocketError.Success)
            {
                return error;
            }

            io = loop.Register(socket);
        }
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted;
        }
        catch (SocketException e)
        {
            // A descriptor that cannot be watched (the loop full, epoll's watch limit) ends the
            // attempt as a connect error, as the runtime's ConnectAsync reports one: the attempt
            // is closed and counted like any other, and the connector fails over.
            return e.SocketErrorCode;
        }

        if (!session.AttachBackendIo(io, token))
        {
            return SocketError.OperationAborted;
        }

        if (error == SocketError.Success)
        {
            return error;
        }

        if (await io.Writable.WaitAsync().ConfigureAwait(false) < 0)
        {
            return SocketError.OperationAborted;
        }

        // Writable with no error or hang-up seen: the connect succeeded, as haproxy also reads
        // it. Only when one was seen does SO_ERROR tell which (a refusal, or a peer that
        // accepted and hung up at once, which is a success).
        if (!io.Readable.HasEnded)
        {
            return SocketError.Success;
        }

        try
        {
            return DescriptorSocket.PendingError(socket);
        }
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted;
        }
    }

    private void BindOutbound(ISessionSocket socket, AddressFamily family)
    {
        if (context.Outbound.For(family) is not { } local)
        {
            return;
        }

        try
        {
            socket.Bind(local);
        }
        catch (SocketException e)
        {
            // Like the original, a source address that cannot be bound does not stop the connect.
            context.Debug?.WriteLine($"bind to {local.Address} failed: {e.Message}");
        }
    }

    private void ReportFailure(ChannelChoice choice, IPEndPoint endpoint, bool timedOut, SocketError error)
    {
        Interlocked.Increment(ref context.Stripe(choice.Group, choice.Channel).Failures);
        ref var channel = ref context.Segment.Record(choice.Group, choice.Channel);
        var g = choice.Group;
        var c = choice.Channel;
        var what = timedOut ? "timeout" : "connection refused";
        context.Debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trying group {g} channel {c} ... {what} group {g} channel {c}"));
        var destination = ChannelSpec.FormatDestination(endpoint.Address.ToString(), endpoint.Port);
        context.Publish(
            EngineEventKind.ConnectFailed,
            g,
            c,
            timedOut
                ? string.Create(CultureInfo.InvariantCulture, $"connect to {destination} timed out after {context.ConnectTimeoutMs} ms")
                : $"connect to {destination} failed: {error}");

        if (context.AutoDisable && Interlocked.Exchange(ref channel.AdminState, (int)ChannelAdminState.Disabled) != (int)ChannelAdminState.Disabled)
        {
            Volatile.Write(ref channel.AdminChangedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            context.Publish(EngineEventKind.AutoDisabled, g, c, $"{destination} disabled after a failed connect; enable it again when fixed");
            context.Notices?.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"connection failed group {g} channel {c}\n{destination} needs to be enabled manually using balance -i after the problem is solved"));
        }
    }
}
