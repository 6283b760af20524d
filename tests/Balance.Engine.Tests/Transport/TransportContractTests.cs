using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Balance.Transport;
using Balance.Transport.Epoll;
using Xunit;

namespace Balance.Tests.Transport;

/// <summary>
/// What every transport promises the engine, driven through <see cref="ITransport"/> alone with
/// real loopback sockets: accept, connect (errors as values), relay both ways with counting,
/// half-close, abort, finish, and ticks. The same tests run on each transport.
/// </summary>
public abstract class TransportContractTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly TestSegment segment = TestSegment.Create("127.0.0.1:1");
    private readonly EngineContext context;
    private readonly List<IDisposable> owned = [];

    protected TransportContractTests()
    {
        var config = new BalanceConfiguration { Port = 9, Groups = GroupSpec.ParseList(["127.0.0.1:1"], 9), RuntimeSockets = RuntimeSockets }.WithLimitsSized();
        context = new EngineContext(segment.Segment, config, OutboundBinding.None, new EngineOutput());
        context.Start();
    }

    /// <summary>True for the sockets transport; false asks for the epoll transport where it runs.</summary>
    protected abstract bool RuntimeSockets { get; }

    private ITransport Transport => context.Transport;

    [Fact]
    public void The_transport_is_the_one_asked_for()
    {
        Assert.Equal(RuntimeSockets || !EpollTransport.IsSupported ? "sockets" : "epoll", Transport.Name);
    }

    [Fact]
    public async Task A_refused_connect_is_a_value_not_an_exception()
    {
        var closedPort = FreePort.Next();
        var (session, _) = await AcceptSessionAsync();
        var socket = Transport.OpenBackend(AddressFamily.InterNetwork);
        var token = session.BeginAttempt(socket, long.MaxValue);
        var error = await Transport.ConnectAsync(session, socket, new IPEndPoint(IPAddress.Loopback, closedPort), token).AsTask().WaitAsync(Bound);
        Assert.True(session.TryEndAttempt(token, connected: false));
        Assert.Equal(SocketError.ConnectionRefused, error);
        socket.Dispose();
        session.Finish();
    }

    [Fact]
    public async Task Bytes_flow_both_ways_and_each_direction_is_counted()
    {
        var (client, backend) = await RelayedPairAsync();
        await client.SendAllAsync("hello");
        Assert.Equal("hello", Encoding.ASCII.GetString(await backend.ReadExactlyAsync(5)));
        await backend.SendAllAsync("world!");
        Assert.Equal("world!", Encoding.ASCII.GetString(await client.ReadExactlyAsync(6)));

        await Eventually.TrueAsync(() => segment.Segment.SumStripes(0, 0).BytesReceived == 6, "the reply was counted");
        // The count follows the send, which the back-end may see complete first.
        await Eventually.TrueAsync(() => segment.Segment.SumStripes(0, 0).BytesSent == 5, "the request was counted");
    }

    [Fact]
    public async Task Small_messages_into_a_peer_that_stops_reading_arrive_whole_and_in_order_once_it_reads_again()
    {
        // Messages below the relay's buffer size, sent one by one while the back-end reads
        // nothing: the relay's sends find its buffers full part-way through a message, and the
        // rest of that message must wait for room without a byte lost, doubled or reordered.
        var (client, backend) = await RelayedPairAsync();
        const int Size = 3001; // not a divisor of any buffer size
        const int MaxMessages = 50_000; // 150 MB: more than the kernel buffers on the way hold
        var message = new byte[Size];
        var messages = 0;
        var stop = 0;
        var sending = Task.Run(async () =>
        {
            for (; Volatile.Read(ref stop) == 0 && messages < MaxMessages; messages++)
            {
                FillMessage(message, messages);
                await client.SendAllAsync(message, TimeSpan.FromSeconds(60));
            }
        });

        // Until the relay's count stands still: every buffer on the way is full.
        var stalled = false;
        for (long last = -1, now; !stalled && !sending.IsCompleted; last = now)
        {
            await Task.Delay(200);
            now = segment.Segment.SumStripes(0, 0).BytesSent;
            stalled = now == last;
        }

        Volatile.Write(ref stop, 1);
        Assert.True(stalled, "the client sent everything without filling the buffers");

        // What was sent before the stop, then what the sender's last send (blocked until now) added.
        var beforeStop = Volatile.Read(ref messages);
        await ExpectMessagesAsync(backend, 0, beforeStop, Size);
        await sending.WaitAsync(Bound);
        await ExpectMessagesAsync(backend, beforeStop, messages, Size);
        await Eventually.TrueAsync(() => segment.Segment.SumStripes(0, 0).BytesSent == (long)messages * Size, "every byte was counted once");
    }

    private static async Task ExpectMessagesAsync(Socket socket, int first, int end, int size)
    {
        var expected = new byte[size];
        for (var number = first; number < end; number++)
        {
            var got = await socket.ReadExactlyAsync(size, TimeSpan.FromSeconds(30));
            FillMessage(expected, number);
            Assert.True(expected.AsSpan().SequenceEqual(got), $"message {number} arrived changed");
        }
    }

    private static void FillMessage(byte[] message, int number)
    {
        for (var i = 0; i < message.Length; i++)
        {
            message[i] = (byte)(number * 31 + i);
        }
    }

    [Fact]
    public async Task An_end_of_stream_is_a_half_close_and_the_session_finishes_once_both_ends_are_in()
    {
        var (client, backend) = await RelayedPairAsync();
        client.Shutdown(SocketShutdown.Send);
        Assert.Empty(await backend.ReadToEndAsync());

        // The other direction keeps flowing after the client's end.
        await backend.SendAllAsync("late");
        Assert.Equal("late", Encoding.ASCII.GetString(await client.ReadExactlyAsync(4)));
        backend.Shutdown(SocketShutdown.Send);
        Assert.Empty(await client.ReadToEndAsync());

        await Eventually.TrueAsync(() => context.Sessions.Count == 0, "the session finished");
        Assert.Equal(0, Volatile.Read(ref segment.Segment.Record(0, 0).Connections));
    }

    [Fact]
    public async Task An_abort_ends_both_sides_with_a_fin_and_finishes_the_session()
    {
        var (client, backend, session) = await RelayedSessionAsync();
        session.Abort();
        Assert.Empty(await client.ReadToEndAsync());
        Assert.Empty(await backend.ReadToEndAsync());
        await Eventually.TrueAsync(() => context.Sessions.Count == 0, "the session finished");
        Assert.Equal(0, Volatile.Read(ref segment.Segment.Record(0, 0).Connections));
    }

    [Fact]
    public async Task A_peer_that_resets_ends_the_session_without_an_exception_escaping()
    {
        var (client, backend) = await RelayedPairAsync();
        backend.LingerState = new LingerOption(true, 0);
        backend.Dispose();
        await Eventually.TrueAsync(() => context.Sessions.Count == 0, "the session finished after the reset");
        Assert.Empty(await client.ReadToEndAsync());
    }

    [Fact]
    public async Task Ticks_run_until_stopped()
    {
        var ticks = 0;
        var schedule = Transport.Schedule(() => Interlocked.Increment(ref ticks), TimeSpan.FromMilliseconds(10));
        await Eventually.TrueAsync(() => Volatile.Read(ref ticks) >= 3, "three ticks ran");
        Assert.True(schedule.Stop());
        var after = Volatile.Read(ref ticks);
        await Task.Delay(100);
        Assert.InRange(Volatile.Read(ref ticks), after, after + 1); // a tick under way may finish
    }

    public void Dispose()
    {
        var rest = new List<Session>();
        context.Sessions.Collect(rest, static (_, _) => true, 0);
        foreach (var s in rest)
        {
            s.Abort();
        }

        foreach (var o in owned)
        {
            o.Dispose();
        }

        // An aborted session unwinds later on the runtime transport (a pool thread) and releases
        // its slot in the mapping as it ends: unmapping first crashed the test host (an access
        // violation in Session.PumpEnded). Like the engine, unmap only once no session is left.
        var deadline = Environment.TickCount64 + (long)Bound.TotalMilliseconds;
        while (context.Sessions.Count > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(10);
        }

        context.Stop();
        Assert.Equal(0, context.Sessions.Count);
        segment.Dispose();
        GC.SuppressFinalize(this);
    }

    private async Task<(Socket Client, Socket Backend)> RelayedPairAsync()
    {
        var (client, backend, _) = await RelayedSessionAsync();
        return (client, backend);
    }

    /// <summary>A client accepted through the transport, a back-end connected through it, and the session relaying between them.</summary>
    private async Task<(Socket Client, Socket Backend, Session Session)> RelayedSessionAsync()
    {
        var (session, client) = await AcceptSessionAsync();
        var backendListener = Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        backendListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        backendListener.Listen(1);
        var socket = Transport.OpenBackend(AddressFamily.InterNetwork);
        var token = session.BeginAttempt(socket, long.MaxValue);
        var connecting = Transport.ConnectAsync(session, socket, (IPEndPoint)backendListener.LocalEndPoint!, token).AsTask();
        var backend = Own(await backendListener.AcceptAsync().WaitAsync(Bound));
        Assert.Equal(SocketError.Success, await connecting.WaitAsync(Bound));
        Assert.True(session.TryEndAttempt(token, connected: true));
        Transport.Relay(session);
        return (client, backend, session);
    }

    /// <summary>A client accepted through the transport, as a session holding a reserved slot of channel 0.</summary>
    private async Task<(Session Session, Socket Client)> AcceptSessionAsync()
    {
        var listener = Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var acceptor = Own(Transport.Accept(listener));
        var client = Own(await LoopbackClient.ConnectAsync((IPEndPoint)listener.LocalEndPoint!));
        var (inner, remote) = await acceptor.AcceptAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, remote.Port);

        Assert.True(ChannelSelector.TryReserve(ref segment.Segment.Record(0, 0)));
        var session = new Session(context, inner, remote, 0, 0);
        session.Assign(new ChannelChoice(0, 0));
        Assert.True(context.Sessions.TryAdd(session));
        return (session, client);
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        owned.Add(disposable);
        return disposable;
    }
}

/// <summary>The contract on the epoll transport (the sockets transport where epoll does not run).</summary>
public sealed class EpollTransportContractTests : TransportContractTests
{
    protected override bool RuntimeSockets => false;
}

/// <summary>The contract on the runtime's sockets.</summary>
public sealed class SocketsTransportContractTests : TransportContractTests
{
    protected override bool RuntimeSockets => true;
}
