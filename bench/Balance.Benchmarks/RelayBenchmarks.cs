using System.Net;
using System.Net.Sockets;
using Balance.Policies;
using Balance.Proxy;
using Balance.Transport.Epoll;
using Balance.Transport.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Balance.Benchmarks;

/// <summary>
/// The relay loop of a real session over loopback sockets: the benchmark thread plays the client
/// and the back-end with blocking sockets, and the engine's transport relays between
/// them. <c>OneWay</c> pushes <see cref="Size"/> bytes client to back-end and waits until they all
/// arrived (bulk path); <c>PingPong</c> sends <see cref="Size"/> bytes each way, one after the other
/// (request/response path, latency). The memory diagnoser counts every thread's allocations, so
/// "Allocated" shows what the relay itself allocates per operation. Three jobs: the sockets
/// transport with the runtime's default (completions posted to the thread pool) and with inline
/// completions (<see cref="SocketRuntimeTuning"/>), as the balance program runs outside Linux
/// x86-64; and the epoll transport (<see cref="EpollTransport"/>) with bare descriptors, as it
/// runs there, where a direction that fills two reads in a row moves on to splicing
/// (<see cref="SpliceRelay"/>): the 256 KiB rows of that job measure the splice path.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Jobs))]
public class RelayBenchmarks
{
    private TestSegment segment = null!;
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
        segment = TestSegment.Create("127.0.0.1:1");
        context = new EngineContext(segment.Segment, segment.Configuration, OutboundBinding.None, new EngineOutput());
        context.Start();
        var transport = context.Transport;

        // Both inner sides come from the engine's transport, as in a live session: the client
        // accepted through it, the back-end connected through it.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(2);
        client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        using var acceptor = transport.Accept(listener);
        var (clientInner, remote) = acceptor.AcceptAsync().AsTask().GetAwaiter().GetResult();

        session = new Session(context, clientInner, remote, 0, 0);
        session.Assign(new ChannelChoice(0, 0));
        var backendInner = transport.OpenBackend(AddressFamily.InterNetwork);
        var token = session.BeginAttempt(backendInner, long.MaxValue);
        var connecting = transport.ConnectAsync(session, backendInner, (IPEndPoint)listener.LocalEndPoint!, token).AsTask();
        listener.Blocking = true;
        backend = listener.Accept();
        backend.NoDelay = true;
        if (connecting.GetAwaiter().GetResult() != SocketError.Success)
        {
            throw new InvalidOperationException("the back-end connect failed");
        }

        session.TryEndAttempt(token, connected: true);
        transport.Relay(session);

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
        context.Stop();
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
