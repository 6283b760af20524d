using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Balance.Transport.Epoll;
using Balance.Transport.Sockets;
using Xunit;
using Xunit.Abstractions;

namespace Balance.Tests.Proxy;

/// <summary>
/// The back-end ACKs the engine holds back (<see cref="HeldAck"/>): the handshake's last ACK
/// leaves with the client's first bytes, and nothing that waits for an ACK is kept waiting for
/// the kernel's delayed-ACK timer (200 ms after a handshake, 40 ms or more after data). Each
/// back-end here is a plain socket whose kernel state (segments received) or timing shows it.
/// The segment counts follow Linux's delayed-ACK rules as of 6.x (checked on 6.18).
/// </summary>
public class HeldAckTests(ITestOutputHelper output)
{
    // struct tcp_info (linux/tcp.h): tcpi_segs_in follows tcpi_segs_out at 136.
    private const int TcpInfoOption = 11;
    private const int SegmentsInOffset = 140;

    [Fact]
    public async Task The_back_end_handshake_ACK_leaves_with_the_clients_first_bytes_and_the_last_with_the_engines_FIN()
    {
        // The first channel never answers, so the connect that reaches the back-end starts
        // after its timeout, when the client's bytes are surely there; it is also the second
        // attempt of the session, which must hold its ACK as the first would have.
        using var silent = await SilentEndpoint.StartAsync();
        using var backend = Listen();
        await using var engine = TestEngine.Start([silent.Channel, Channel(backend)], c => c with { ConnectTimeout = TimeSpan.FromMilliseconds(100) });
        if (!engine.OnLoop)
        {
            return; // the runtime's operations hold no ACK
        }

        using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        await client.SendAllAsync("hello"u8.ToArray());
        using var server = await backend.AcceptAsync().WaitAsync(LoopbackClient.DefaultTimeout);
        Assert.Equal("hello", Encoding.ASCII.GetString(await server.ReadExactlyAsync(5)));

        // SYN, then the ACK with the bytes: 2 segments; an ACK of its own would make 3.
        Assert.Equal(2, SegmentsIn(server));

        // A reply that is also the back-end's last, its FIN in the same segment: the engine
        // acknowledges both with its own FIN once the client has closed, one segment more in
        // all; a quick ACK of the reply would make it two.
        server.Blocking = false;
        var clock = Stopwatch.StartNew();
        Assert.Equal(4, FinalSegment.Send(server, "bye\n"u8));
        server.Shutdown(SocketShutdown.Send);
        Assert.Equal("bye\n", Encoding.ASCII.GetString(await client.ReadToEndAsync()));
        client.Dispose();
        var closedAfter = clock.Elapsed;
        Assert.Empty(await server.ReadToEndAsync());

        // The engine's FIN comes when the client has closed: a test host that took longer than
        // the kernel's delayed-ACK timer (40 ms) for that has let the ACK go alone.
        if (closedAfter < TimeSpan.FromMilliseconds(30))
        {
            Assert.Equal(3, SegmentsIn(server));
        }
        else
        {
            output.WriteLine($"the client closed after {closedAfter.TotalMilliseconds:F1} ms: the last segment count is not conclusive");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_back_end_that_speaks_first_sees_the_connection_at_once_when_the_client_sends_nothing(bool runtimeSockets)
    {
        // Held, the handshake's last ACK would wait for the delayed-ACK timer (200 ms), and the
        // back-end accepts only once it comes.
        using var backend = Listen();
        await using var engine = TestEngine.Start([Channel(backend)], c => c with { RuntimeSockets = runtimeSockets });
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
            using var server = await backend.AcceptAsync().WaitAsync(LoopbackClient.DefaultTimeout);
            await server.SendAllAsync("220 ready\n"u8.ToArray());
            Assert.Equal("220 ready", await client.ReadLineAsync());
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        AssertMedianBelow(times, 150, "connect to greeting");
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public async Task A_back_end_that_writes_its_first_reply_in_two_parts_under_Nagle_is_not_held_up(bool runtimeSockets, bool clientSendsAtOnce)
    {
        // With Nagle's algorithm the second part waits until the first is acknowledged; a held
        // ACK would make it wait for the delayed-ACK timer (40 ms or more). A client that sends
        // only once the back-end has accepted has had the handshake ACK released first, and then
        // every connection shows whether the first reply still releases.
        using var backend = Listen();
        await using var engine = TestEngine.Start([Channel(backend)], c => c with { RuntimeSockets = runtimeSockets });
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
            if (clientSendsAtOnce)
            {
                await client.SendAllAsync("GET\n"u8.ToArray());
            }

            using var server = await backend.AcceptAsync().WaitAsync(LoopbackClient.DefaultTimeout);
            if (!clientSendsAtOnce)
            {
                await client.SendAllAsync("GET\n"u8.ToArray());
            }

            server.NoDelay = false;
            await server.ReadExactlyAsync(4);

            var clock = Stopwatch.StartNew();
            server.Send("head\n"u8);
            server.Send("body\n"u8);
            Assert.Equal("head", await client.ReadLineAsync());
            Assert.Equal("body", await client.ReadLineAsync());
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        AssertMedianBelow(times, 25, "first part to second part");
    }

    [Fact]
    public async Task A_keep_alive_connection_relays_its_later_exchanges_and_its_end()
    {
        // After the first reply the socket is back to the kernel's ACK timing: later exchanges
        // and the end of the connection go through as ever.
        using var backend = Listen();
        await using var engine = TestEngine.Start([Channel(backend)]);
        using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        await client.SendAllAsync("one\n"u8.ToArray());
        using var server = await backend.AcceptAsync().WaitAsync(LoopbackClient.DefaultTimeout);
        for (var i = 0; i < 20; i++)
        {
            var request = await server.ReadLineAsync();
            await server.SendAllAsync(Encoding.ASCII.GetBytes($"re {request}\n"));
            Assert.Equal($"re {(i == 0 ? "one" : $"n{i}")}", await client.ReadLineAsync());
            await client.SendAllAsync(Encoding.ASCII.GetBytes($"n{i + 1}\n"));
        }

        Assert.Equal("n20", await server.ReadLineAsync());
        server.Shutdown(SocketShutdown.Send);
        Assert.Empty(await client.ReadToEndAsync());
    }

    private void AssertMedianBelow(List<double> times, double limitMs, string what)
    {
        times.Sort();
        var median = times[times.Count / 2];
        output.WriteLine($"{what}, ms: {string.Join(", ", times.Select(t => t.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(median < limitMs, $"{what} took {median:F1} ms (median of {times.Count}); a held ACK waits for the delayed-ACK timer");
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        return listener;
    }

    private static string Channel(Socket listener) => "127.0.0.1:" + ((IPEndPoint)listener.LocalEndPoint!).Port;

    private static int SegmentsIn(Socket socket)
    {
        var info = new byte[256];
        var length = socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpInfoOption, info);
        Assert.True(length >= SegmentsInOffset + 4, $"tcp_info of {length} bytes has no tcpi_segs_in");
        return BinaryPrimitives.ReadInt32LittleEndian(info.AsSpan(SegmentsInOffset));
    }
}
