using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Configuration;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Balance.Transport;
using Balance.Transport.Sockets;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>
/// The per-connection system calls the engine saves: socket options inherited from the listener
/// and the reply that carries the FIN. Each test reads the kernel's own state of a real socket.
/// </summary>
public class ConnectionSetupTests
{
    // struct tcp_info (linux/tcp.h): tcpi_segs_in, segments received, follows tcpi_segs_out at 136.
    private const int TcpInfoOption = 11;
    private const int SegmentsInOffset = 140;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Accepted_clients_have_no_delay_and_keep_alive_without_setting_them(bool runtimeSockets)
    {
        using var segment = TestSegment.Create("127.0.0.1:1");
        var config = new BalanceConfiguration { Port = 9, Groups = GroupSpec.ParseList(["127.0.0.1:1"], 9), RuntimeSockets = runtimeSockets }.WithLimitsSized();
        var context = new EngineContext(segment.Segment, config, OutboundBinding.None, new EngineOutput());
        context.Start();
        using var listener = Listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var accepted = new TaskCompletionSource<ISessionSocket>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = listener.RunAsync((s, _) => accepted.TrySetResult(s), context);

        using var client = await LoopbackClient.ConnectAsync(listener.LocalEndPoint);
        using var server = await accepted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var view = SocketView.Of(server);

        Assert.True(view.NoDelay, "TCP_NODELAY on the accepted socket");
        Assert.Equal(1, (int)view.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        listener.Dispose();
        await loop.WaitAsync(TimeSpan.FromSeconds(10));
        context.Stop();
    }

    [Fact]
    public async Task A_final_segment_and_the_shutdown_after_it_arrive_as_one_segment()
    {
        var (sender, receiver) = await ConnectedPairAsync();
        using (sender)
        using (receiver)
        {
            sender.Blocking = false;
            var before = SegmentsIn(receiver);
            Assert.Equal(5, FinalSegment.Send(sender, "hello"u8));
            sender.Shutdown(SocketShutdown.Send);

            Assert.Equal("hello", Encoding.ASCII.GetString(await receiver.ReadToEndAsync()));
            if (OperatingSystem.IsLinux())
            {
                Assert.Equal(1, SegmentsIn(receiver) - before);
            }
        }
    }

    [Fact]
    public async Task A_plain_send_and_shutdown_arrive_as_two_segments()
    {
        // The control for the test above: it shows the segment count tells the two apart.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (sender, receiver) = await ConnectedPairAsync();
        using (sender)
        using (receiver)
        {
            var before = SegmentsIn(receiver);
            sender.Send("hello"u8);
            sender.Shutdown(SocketShutdown.Send);

            Assert.Equal("hello", Encoding.ASCII.GetString(await receiver.ReadToEndAsync()));
            Assert.Equal(2, SegmentsIn(receiver) - before);
        }
    }

    [Fact]
    public void A_final_segment_on_a_blocking_socket_sends_nothing_and_leaves_it_to_the_caller()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Equal(0, FinalSegment.Send(socket, "x"u8));
        Assert.Equal(SocketOperation.WouldBlock, SocketOperation.ReceiveNow(socket, new byte[1]));
    }

    [Fact]
    public async Task A_final_segment_to_a_reset_peer_reports_the_error_instead_of_throwing()
    {
        var (sender, receiver) = await ConnectedPairAsync();
        using (sender)
        {
            sender.Blocking = false;
            receiver.LingerState = new LingerOption(true, 0);
            receiver.Dispose();
            await Eventually.TrueAsync(() => FinalSegment.Send(sender, "late"u8) < 0, "the reset is reported");
        }
    }

    private static int SegmentsIn(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var info = new byte[256];
        var length = socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpInfoOption, info);
        Assert.True(length >= SegmentsInOffset + 4, $"tcp_info of {length} bytes has no tcpi_segs_in");
        return BinaryPrimitives.ReadInt32LittleEndian(info.AsSpan(SegmentsInOffset));
    }

    private static async Task<(Socket Sender, Socket Receiver)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var receiver = await LoopbackClient.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        var sender = await listener.AcceptAsync();
        sender.NoDelay = true;

        // The handshake's last ACK must have landed before counting starts.
        await Task.Delay(20);
        return (sender, receiver);
    }
}
