using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;
using Balance.Transport;

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
                    socket = context.Transport.OpenBackend(endpoint.AddressFamily);
                }
                catch (SocketException e)
                {
                    // Out of descriptors or similar: a local problem, not the back-end's fault, so
                    // no failure is counted and nothing is disabled; this client cannot be served.
                    RejectForLocalShortage(session, choice, e.SocketErrorCode);
                    return;
                }

                if (context.Configuration.Keepalive is { } keepalive)
                {
                    try
                    {
                        socket.SetKeepalive(keepalive);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                }

                BindOutbound(socket, endpoint.AddressFamily);
                var token = session.BeginAttempt(socket, Environment.TickCount64 + context.ConnectTimeoutMs);
                if (session.IsAborted)
                {
                    socket.Dispose();
                }

                var error = await context.Transport.ConnectAsync(session, socket, endpoint, token).ConfigureAwait(false);

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

                if (IsLocalShortage(error))
                {
                    // The socket could not join the loop (no room, no memory): the engine's shortage, not the channel's.
                    socket.Dispose();
                    RejectForLocalShortage(session, choice, error);
                    return;
                }

                if (error == SocketError.Success)
                {
                    context.Counters.Connected(choice.Group, choice.Channel);
                    context.Passive?.ConnectSucceeded(choice.Group, choice.Channel);
                    if (scanned)
                    {
                        context.Selector.Advance(choice.Group, choice.Channel);
                    }

                    context.Debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trying group {choice.Group} channel {choice.Channel} ... connect to channel {choice.Channel} successful"));
                    context.Transport.Relay(session);
                    return;
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
                    following = context.Selector.Select(choice.Group + 1, session.ClientHash, session.ClientKey, context.HashFailover, context.Debug);
                    firstInGroup = following.Channel;
                    scanned = false;
                }

                if (!following.Found)
                {
                    context.Counters.Rejected();
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

    private static bool IsLocalShortage(SocketError error) => error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable;

    /// <summary>
    /// Closes a client the engine has no descriptor or buffer for: its slot goes back, it counts as
    /// rejected, and a shortage is reported once per episode (not once per client).
    /// </summary>
    private void RejectForLocalShortage(Session session, ChannelChoice choice, SocketError error)
    {
        session.ReleaseSlot();
        context.Counters.Rejected();
        if (IsLocalShortage(error) && context.Budget is { } budget)
        {
            budget.ReportShortage("a back-end socket");
        }
        else
        {
            var text = "cannot open a back-end socket: " + new SocketException((int)error).Message;
            context.Publish(EngineEventKind.Error, choice.Group, choice.Channel, text);
            context.Debug?.WriteLine(text);
        }

        session.Finish();
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
        ref var channel = ref context.Segment.Record(choice.Group, choice.Channel);
        context.Counters.Failed(choice.Group, choice.Channel);
        context.Passive?.ConnectFailed(choice.Group, choice.Channel);
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
