using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Balance.Policies;
using Balance.Proxy;

namespace Balance.Benchmarks;

/// <summary>
/// The relay loop of a real session over loopback sockets: the benchmark thread plays the client
/// and the back-end with blocking sockets, and the engine's <see cref="Relay"/> copies between
/// them. <c>OneWay</c> pushes <see cref="Size"/> bytes client to back-end and waits until they all
/// arrived (bulk path); <c>PingPong</c> sends <see cref="Size"/> bytes each way, one after the other
/// (request/response path, latency). The memory diagnoser counts every thread's allocations, so
/// "Allocated" shows what the relay itself allocates per operation. Three jobs: the runtime's
/// socket operations with its default (completions posted to the thread pool) and with inline
/// completions (<see cref="SocketRuntimeTuning"/>), as the balance program runs outside Linux
/// x86-64; and the engine's own epoll loop (<see cref="EpollLoop"/>) with bare descriptors, as
/// it runs there, where a direction that fills two reads in a row moves on to splicing
/// (<see cref="SpliceRelay"/>): the 256 KiB rows of that job measure the splice path.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Jobs))]
public class RelayBenchmarks
{
    private BenchSegment segment = null!;
    private EngineContext context = null!;
    private Session session = null!;
    private Socket client = null!;
    private Socket backend = null!;
    private byte[] payload = null!;
    private byte[] sink = null!;

    [Params(100, 16 * 1024, 256 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        segment = BenchSegment.Create("127.0.0.1:1");
        context = new EngineContext(segment.Segment, segment.Configuration, OutboundBinding.None, new EngineOutput());
        ISessionSocket clientInner, backendInner;
        IPEndPoint remote;
        if (context.Loop is null)
        {
            var (clientOuter, clientSide) = ConnectedPair();
            var (backendSide, backendOuter) = ConnectedPair();
            (client, backend) = (clientOuter, backendOuter);
            (clientInner, backendInner) = (new RuntimeSocket(clientSide), new RuntimeSocket(backendSide));
            remote = (IPEndPoint)clientSide.RemoteEndPoint!;
        }
        else
        {
            // As the engine runs on the loop: both inner sides are bare descriptors.
            (client, clientInner, remote) = AcceptedDescriptor();
            (backendInner, backend) = ConnectedDescriptor();
        }

        session = new Session(context, clientInner, remote, 0);
        session.Assign(new ChannelChoice(0, 0));
        var token = session.BeginAttempt(backendInner, long.MaxValue);
        if (context.Loop is { } loop)
        {
            session.AttachBackendIo(loop.Register(backendInner.Handle), token);
        }

        session.TryEndAttempt(token, connected: true);
        context.Relay.Start(session);

        payload = new byte[Size];
        Random.Shared.NextBytes(payload);
        sink = new byte[Math.Max(Size, 64 * 1024)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        session.Abort();
        client.Dispose();
        backend.Dispose();
        context.Loop?.Dispose();
        segment.Dispose();
    }

    [Benchmark]
    public int OneWay()
    {
        client.Send(payload);
        return Drain(backend, Size);
    }

    [Benchmark]
    public int PingPong()
    {
        client.Send(payload);
        Drain(backend, Size);
        backend.Send(payload);
        return Drain(client, Size);
    }

    private int Drain(Socket socket, int bytes)
    {
        var got = 0;
        while (got < bytes)
        {
            var n = socket.Receive(sink, 0, Math.Min(sink.Length, bytes - got), SocketFlags.None);
            if (n == 0)
            {
                throw new InvalidOperationException("the relay closed the connection");
            }

            got += n;
        }

        return got;
    }

    private static (Socket Outer, ISessionSocket Inner, IPEndPoint Remote) AcceptedDescriptor()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        listener.Blocking = false;
        var outer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        outer.Connect(listener.LocalEndPoint!);
        while (true)
        {
            if (DescriptorSocket.TryAccept(listener.SafeHandle, out var remote) is { } inner)
            {
                return (outer, inner, remote!);
            }

            Thread.Sleep(1);
        }
    }

    private static (ISessionSocket Inner, Socket Outer) ConnectedDescriptor()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var inner = DescriptorSocket.Open(AddressFamily.InterNetwork);
        NonBlockingConnect.Start(inner, (IPEndPoint)listener.LocalEndPoint!);
        var outer = listener.Accept();
        outer.NoDelay = true;
        return (inner, outer);
    }

    private static (Socket Connecting, Socket Accepted) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var connecting = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        connecting.Connect(listener.LocalEndPoint!);
        var accepted = listener.Accept();
        accepted.NoDelay = true;
        return (connecting, accepted);
    }

    private sealed class Jobs : ManualConfig
    {
        public Jobs()
        {
            var basis = Job.ShortRun;
            var runtime = basis.WithEnvironmentVariable("BALANCE_IO", "runtime");
            AddJob(runtime.WithId("pool"));
            AddJob(runtime.WithEnvironmentVariable(SocketRuntimeTuning.InlineCompletionsVariable, "1").WithId("inline"));
            AddJob(basis.WithId("loop"));
        }
    }
}
