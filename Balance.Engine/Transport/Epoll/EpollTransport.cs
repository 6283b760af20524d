using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Balance.Interop;
using Balance.Proxy;

namespace Balance.Transport.Epoll;

/// <summary>
/// The Linux transport: one edge-triggered epoll loop per worker on its own thread, bare
/// descriptors (<see cref="DescriptorSocket"/>), direct non-blocking calls, splicing for bulk
/// transfers (<see cref="SpliceRelay"/>) and held ACKs on back-end sockets (<see cref="HeldAck"/>).
/// Continuations run inline on the loop thread, so a session's accept, connect and relay never
/// leave it.
/// </summary>
internal sealed class EpollTransport : ITransport
{
    private readonly int capacity;
    private readonly Action<int, int, string> reportError;
    private readonly TextWriter? dump;
    private readonly int pipeCount;
    private EpollLoop? loop;
    private PipePool? pipes;
    private EpollRelay? relay;

    /// <param name="capacity">Sockets the loop watches at most (sessions twice, listener and a margin).</param>
    /// <param name="pipeCount">Splice pipes kept at most; 0 = copy only.</param>
    /// <param name="dump">The <c>-p</c> packet dump; with it every direction copies, since the dump needs the bytes.</param>
    /// <param name="reportError">Hears of a loop error or a bug in a continuation, which costs its session, never the loop.</param>
    public EpollTransport(int capacity, int pipeCount, TextWriter? dump, Action<int, int, string> reportError)
    {
        this.capacity = capacity;
        this.pipeCount = pipeCount;
        this.dump = dump;
        this.reportError = reportError;
    }

    /// <summary>True where this transport can run: Linux x86-64.</summary>
    public static bool IsSupported => Libc.IsLinuxX64;

    public string Name => "epoll";

    public int ReservedDescriptors => 2 * pipeCount;

    /// <summary>The splice pipes (null before start or with none), for diagnostics and tests.</summary>
    public PipePool? Pipes => pipes;

    private EpollLoop Loop => loop ?? throw new InvalidOperationException("the epoll transport is not started");

    public void Start()
    {
        loop = EpollLoop.TryCreate(capacity, e => reportError(-1, -1, "epoll loop: " + e.Message))
            ?? throw new SocketException((int)SocketError.TooManyOpenSockets);
        pipes = pipeCount > 0 ? new PipePool(pipeCount) : null;
        relay = new EpollRelay(loop, dump is null ? pipes : null, dump, reportError);
    }

    public IAcceptor Accept(Socket listening) => new EpollAcceptor(Loop, listening);

    public ISessionSocket OpenBackend(AddressFamily family) => DescriptorSocket.Open(family);

    public void Relay(Session session) => relay!.Start(session);

    public ITicks Schedule(Action tick, TimeSpan period) => LoopTicks.Start(Loop, tick, period);

    public bool Stop()
    {
        loop?.Dispose();
        pipes?.Dispose();
        return loop?.IsRunning != true;
    }

    /// <summary>
    /// The connect on the loop: started with the system call, then a wait until the socket is
    /// writable. The socket joins the loop only once the connect is in progress: a socket not yet
    /// connecting reports itself writable and hung up at once. The socket holds its ACKs from the
    /// start, and the relay releases them at the points <see cref="HeldAck"/> names.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SocketError> ConnectAsync(Session session, ISessionSocket socket, IPEndPoint endpoint, long token)
    {
        var descriptor = (DescriptorSocket)socket;
        SocketError error;
        SocketRegistration io;
        try
        {
            descriptor.HeldAck = HeldAck.Hold(descriptor, Loop);
            error = NonBlockingConnect.Start(descriptor, endpoint);
            if (error != SocketError.InProgress && error != SocketError.Success)
            {
                return error;
            }

            io = Loop.Register(descriptor);
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

        descriptor.Attach(io);
        if (!session.IsAttemptCurrent(token))
        {
            io.Abort();
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
            return DescriptorSocket.PendingError(descriptor);
        }
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted;
        }
    }

    /// <summary>The sweeper's ticks on the loop thread, timed by the loop's wait: no timer thread wakes for them.</summary>
    private sealed class LoopTicks : ITicks
    {
        private readonly EpollLoop loop;
        private readonly TimeSpan period;

        private LoopTicks(EpollLoop loop, TimeSpan period)
        {
            this.loop = loop;
            this.period = period;
        }

        public static LoopTicks Start(EpollLoop loop, Action tick, TimeSpan period)
        {
            loop.SetTick(tick, period);
            return new LoopTicks(loop, period);
        }

        /// <summary>The loop's own stop, right after this, waits for a tick under way.</summary>
        public bool Stop()
        {
            loop.SetTick(null, period);
            return true;
        }
    }
}
