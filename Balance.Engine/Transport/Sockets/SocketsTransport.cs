using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Balance.Proxy;

namespace Balance.Transport.Sockets;

/// <summary>
/// The portable transport: the runtime's asynchronous socket operations (macOS, Windows, and
/// Linux where the epoll transport is refused or <c>BALANCE_IO=runtime</c> asks for this one).
/// Continuations run on the runtime's socket thread (<see cref="SocketRuntimeTuning"/>).
/// </summary>
internal sealed class SocketsTransport : ITransport
{
    /// <summary>How long stopping waits for a timer tick under way.</summary>
    private static readonly TimeSpan TickWait = TimeSpan.FromSeconds(5);

    private readonly TextWriter? dump;

    /// <param name="dump">The <c>-p</c> packet dump, or null.</param>
    public SocketsTransport(TextWriter? dump)
    {
        this.dump = dump;
    }

    public string Name => "sockets";

    public int ReservedDescriptors => 0;

    /// <summary>Nothing to start: the runtime's socket engine runs already.</summary>
    public void Start()
    {
    }

    public IAcceptor Accept(Socket listening) => new SocketsAcceptor(listening);

    public ISessionSocket OpenBackend(AddressFamily family) => RuntimeSocket.Open(family);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SocketError> ConnectAsync(Session session, ISessionSocket socket, IPEndPoint endpoint, long token)
    {
        var runtime = (RuntimeSocket)socket;
        return SocketOperation.ErrorOf(await runtime.Operation.ConnectAsync(runtime.Socket, endpoint).ConfigureAwait(false));
    }

    public void Relay(Session session)
    {
        var client = (RuntimeSocket)session.Client;
        var backend = (RuntimeSocket)session.Backend!;
        session.StartRelaying();

        // Both directions start right here: each runs until its first receive that has to wait.
        // Posting one of them to the thread pool instead cost a worker wake-up per connection.
        _ = new SocketsPump(session, backend, client, dump, clientToBackend: false).RunAsync();
        _ = new SocketsPump(session, client, backend, dump, clientToBackend: true).RunAsync();
    }

    public ITicks Schedule(Action tick, TimeSpan period) => TimerTicks.Start(tick, period);

    public bool Stop() => true;

    /// <summary>Ticks on a <see cref="Timer"/>, whose thread and a pool worker wake for each.</summary>
    private sealed class TimerTicks : ITicks
    {
        private readonly Timer timer;

        private TimerTicks(Timer timer)
        {
            this.timer = timer;
        }

        public static TimerTicks Start(Action tick, TimeSpan period) =>
            new(new Timer(static state => ((Action)state!)(), tick, period, period));

        /// <summary>
        /// DisposeAsync, not Dispose(WaitHandle): a wait that gives up may leave it behind, where
        /// a handle disposed under a running tick would fail that tick's signal.
        /// </summary>
        public bool Stop() => timer.DisposeAsync().AsTask().Wait(TickWait);
    }
}
