using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;
using Balance.Interop;
using Balance.Transport;

namespace Balance.Proxy;

/// <summary>
/// The listening socket and its accept loop. An IPv6 listener accepts IPv4 clients too (dual
/// stack, so <c>-6</c> without <c>-b</c> serves everyone on <c>[::]</c>). Running out of
/// descriptors (EMFILE/ENFILE) or buffers is logged once per episode and met with a growing
/// back-off until accepting works again; the loop never dies of it. At the session limit
/// (<see cref="DescriptorLimit"/>) accepting pauses and clients wait in the kernel's backlog.
/// </summary>
internal sealed class Listener : IDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);
    private const long EpisodeGapMs = 5000;
    private const int AcceptingConnections = 30; // SO_ACCEPTCONN
    private readonly Socket socket;
    private readonly NoticeGate fullNotices;
    private IAcceptor? acceptor;
    private int closed;
    private int shared;

    private Listener(Socket socket, NoticeGate fullNotices)
    {
        this.socket = socket;
        this.fullNotices = fullNotices;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The listening socket's handle: what a takeover passes on (several listeners may share one).</summary>
    internal System.Runtime.InteropServices.SafeHandle Handle => socket.SafeHandle;

    /// <summary>True when the socket joined an SO_REUSEPORT group (one socket per worker).</summary>
    internal bool ReusesPort => ReadReusePort(socket);

    /// <summary>
    /// A listener around a socket another engine passed on (<see cref="TakeoverListeners"/>);
    /// closing it never disturbs that socket for its other holders. Anything but a listening TCP
    /// socket (SO_ACCEPTCONN) is refused with an <see cref="IOException"/>.
    /// </summary>
    internal static Listener Adopt(Socket socket, NoticeGate gate)
    {
        var value = new byte[4];
        if (socket.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || socket.SocketType != SocketType.Stream
            || socket.GetRawSocketOption(Libc.SolSocket, AcceptingConnections, value) != 4 || BitConverter.ToInt32(value) == 0)
        {
            throw new IOException("the running engine passed a socket that is not a listening TCP socket");
        }

        var listener = new Listener(socket, gate);
        listener.MarkShared();
        return listener;
    }

    /// <summary>A second listener on the same socket, for another worker's loop (no SO_REUSEPORT).</summary>
    internal Listener AnotherLoop()
    {
        var listener = new Listener(socket, fullNotices);
        listener.shared = Volatile.Read(ref shared);
        return listener;
    }

    /// <summary>A gate for the notices of one group of listeners.</summary>
    internal static NoticeGate NewGate() => new(EpisodeGapMs);

    /// <summary>
    /// The socket is (or is about to be) held by another engine too: closing this copy must leave
    /// it listening, queue and all, so the runtime is kept from shutting it down on close.
    /// </summary>
    internal void MarkShared() => Volatile.Write(ref shared, 1);

    private static bool ReadReusePort(Socket socket)
    {
        var value = new byte[4];
        return socket.GetRawSocketOption(Libc.SolSocket, Libc.SoReusePort, value) == 4 && BitConverter.ToInt32(value) != 0;
    }

    /// <summary>
    /// One listener per worker. On Linux each has a socket of its own in one SO_REUSEPORT group, and
    /// the kernel spreads clients over them; elsewhere (or where the option is refused) they share
    /// one socket, and each worker's accept loop takes from it. A failure is a
    /// <see cref="ConfigurationException"/> with exit code 71.
    /// </summary>
    public static Listener[] BindAll(IPEndPoint endpoint, int count, KeepaliveTiming? keepalive = null)
    {
        var all = new Listener[count];
        if (count == 1 || !OperatingSystem.IsLinux() || !ReusePortWorks(endpoint.AddressFamily))
        {
            all[0] = Bind(endpoint, null, keepalive);
            for (var i = 1; i < count; i++)
            {
                all[i] = new Listener(all[0].socket, all[0].fullNotices);
            }

            return all;
        }

        // SO_REUSEPORT would also join the group of another process of this user on the
        // endpoint, which would then get some of the clients: a plain bind first fails as the
        // bind without workers does.
        ProbeFree(endpoint);
        var gate = new NoticeGate(EpisodeGapMs);
        try
        {
            for (var i = 0; i < count; i++)
            {
                all[i] = Bind(endpoint, gate, keepalive);
            }

            return all;
        }
        catch
        {
            foreach (var bound in all)
            {
                bound?.Dispose();
            }

            throw;
        }
    }

    /// <summary>Binds and listens; a failure is a <see cref="ConfigurationException"/> with exit code 71.</summary>
    public static Listener Bind(IPEndPoint endpoint) => Bind(endpoint, null, null);

    internal static bool ReusePortWorks(AddressFamily family)
    {
        using var probe = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            EnableReusePort(probe);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void EnableReusePort(Socket socket) =>
        socket.SetRawSocketOption(Libc.SolSocket, Libc.SoReusePort, BitConverter.GetBytes(1));

    private static void ProbeFree(IPEndPoint endpoint)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                probe.DualMode = true;
            }

            probe.Bind(endpoint);
        }
        catch (SocketException e)
        {
            throw Failed("bind", endpoint, e);
        }
    }

    /// <summary>With <paramref name="group"/>, the socket joins an SO_REUSEPORT group whose listeners share that gate.</summary>
    /// <param name="endpoint">The address and port to listen on.</param>
    /// <param name="group">The notice gate the group's listeners share; null for a listener alone.</param>
    /// <param name="keepalive">The <c>--keepalive</c> timing, which accepted sockets inherit; null = the system's.</param>
    internal static Listener Bind(IPEndPoint endpoint, NoticeGate? group, KeepaliveTiming? keepalive)
    {
        var reusePort = group is not null;
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        var step = "bind";
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = true;
            }

            // Linux and the BSDs copy both options into every accepted socket, which saves two
            // setsockopt calls per client connection (Windows: see SocketsAcceptor).
            SessionOptions.Apply(socket, keepalive);
            if (reusePort)
            {
                EnableReusePort(socket);
            }

            socket.Bind(endpoint);
            step = "listen";

            // The kernel caps the backlog at net.core.somaxconn, as the original's SOMAXCONN did.
            socket.Listen();
            return new Listener(socket, group ?? new NoticeGate(EpisodeGapMs));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw Failed(step, endpoint, e);
        }
    }

    private static ConfigurationException Failed(string step, IPEndPoint endpoint, SocketException e)
    {
        var where = ChannelSpec.FormatDestination(endpoint.Address.ToString(), endpoint.Port);
        return new ConfigurationException($"{step}(): {e.Message} on {where}", where, ExitCodes.OsError);
    }

    /// <summary>
    /// Accepts through <paramref name="context"/>'s transport until the listener is disposed,
    /// handing every client and its address to <paramref name="accepted"/>.
    /// </summary>
    public async Task RunAsync(Action<ISessionSocket, IPEndPoint> accepted, EngineContext context)
    {
        var taken = context.Transport.Accept(socket);
        Interlocked.Exchange(ref acceptor, taken);
        if (IsClosed)
        {
            taken.Dispose();
            return;
        }

        var backoff = FirstBackoff;
        var failedInARow = 0;
        var full = false;
        while (true)
        {
            if (context.Sessions.Count >= context.MaxSessions || context.Budget?.Short == true)
            {
                // One notice per episode: sessions ending one at a time must not make it repeat.
                if (!full && context.Budget?.Short != true && fullNotices.TryPass())
                {
                    var text = string.Create(CultureInfo.InvariantCulture, $"{context.Budget?.TotalCap ?? context.MaxSessions} sessions: the descriptor limit is reached ({DescribeLimit()}), accepting paused until sessions end");
                    context.Notices?.WriteLine(text);
                    context.Publish(EngineEventKind.AcceptError, -1, -1, text);
                }

                full = true;
                await context.NextTick.NextAsync().ConfigureAwait(false);
                if (IsClosed)
                {
                    return;
                }

                continue;
            }

            full = false;
            ISessionSocket client;
            IPEndPoint remote;
            try
            {
                (client, remote) = await taken.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted && IsClosed)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                ReportShortage(context, "accept", e);
                await PauseAsync(context, backoff).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                continue;
            }
            catch (SocketException e)
            {
                // The client gave up before we took it (ECONNABORTED and friends): nothing to do.
                if (IsClosed)
                {
                    return;
                }

                context.Debug?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accept error {(int)e.SocketErrorCode}"));

                // One such error belongs to one client, and the next accept goes ahead at once, as
                // accept(2) advises. Many in a row with none accepted between may be the
                // listener's own (shut down from outside): a pause keeps that from spinning on
                // the thread that relays every session.
                if (++failedInARow >= 8)
                {
                    await context.NextTick.NextAsync().ConfigureAwait(false);
                }

                continue;
            }

            backoff = FirstBackoff;
            failedInARow = 0;
            accepted(client, remote);
        }

        string DescribeLimit()
        {
            var limit = DescriptorLimit.ReadSoftLimit();
            return limit is { } l ? string.Create(CultureInfo.InvariantCulture, $"the per-process open-files limit, ulimit -n, is {l}") : "raise ulimit -n";
        }
    }

    /// <summary>
    /// Out of descriptors or buffers: the budget's episode (one notice for the engine), or for a
    /// lone worker without one a notice per listener episode.
    /// </summary>
    private void ReportShortage(EngineContext context, string what, SocketException e)
    {
        if (context.Budget is { } budget)
        {
            budget.ReportShortage(what);
        }
        else if (fullNotices.TryPass())
        {
            var text = $"{what}: {e.Message}; backing off until descriptors are free";
            context.Notices?.WriteLine(text);
            context.Publish(EngineEventKind.AcceptError, -1, -1, text);
        }
    }

    /// <summary>Waits at least <paramref name="pause"/> in ticks of the worker's own loop (<see cref="TickWait"/>).</summary>
    private async Task PauseAsync(EngineContext context, TimeSpan pause)
    {
        var until = Environment.TickCount64 + (long)pause.TotalMilliseconds;
        do
        {
            await context.NextTick.NextAsync().ConfigureAwait(false);
        }
        while (Environment.TickCount64 < until && !IsClosed);
    }

    private bool IsClosed => Volatile.Read(ref closed) != 0;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref closed, 1) != 0)
        {
            return;
        }

        Volatile.Read(ref acceptor)?.Dispose();
        if (Volatile.Read(ref shared) != 0 && !socket.SafeHandle.IsClosed)
        {
            // The runtime aborts a stream socket it closes (connect to AF_UNSPEC, which on a
            // listener drops its queue) unless the descriptor lacks close-on-exec, its mark of a
            // socket shared with other processes. Another worker's listener on the same socket
            // may have closed it already.
            try
            {
                Libc.Fcntl(socket.SafeHandle, Libc.SetDescriptorFlags, 0);
            }
            catch (ObjectDisposedException)
            {
            }
        }

        socket.Dispose();
    }
}
