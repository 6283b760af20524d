using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Balance.Interop;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Balance.Transport;
using Balance.Transport.Epoll;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>
/// The epoll loop's bare descriptors on real loopback sockets: an accept that finds nobody returns
/// at once, an accepted or opened descriptor is non-blocking and close-on-exec from the start with
/// the original's options, its addresses read as the runtime reports them, and its shutdowns are
/// orderly ends of stream.
/// </summary>
public sealed class DescriptorSocketTests : IDisposable
{
    private const int GetDescriptorFlags = 1; // F_GETFD
    private const int GetStatusFlags = 3; // F_GETFL
    private const int CloseOnExecFlag = 1; // FD_CLOEXEC
    private const int NonBlockingFlag = 0x800; // O_NONBLOCK

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly TestSockets sockets = new();

    public void Dispose() => sockets.Dispose();

    [Fact]
    public async Task An_accept_with_nobody_waiting_returns_null_at_once_then_the_client_with_its_address()
    {
        if (!DescriptorsSupported())
        {
            return;
        }

        var listener = Listen(new IPEndPoint(IPAddress.Loopback, 0));

        // Bounded: an accept that waited would hang the test here.
        Assert.Null(await Task.Run(() => DescriptorSocket.TryAccept(listener.SafeHandle, out _)).WaitAsync(Bound));

        var client = sockets.Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await client.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await AcceptAsync(listener);
        sockets.Own(accepted.Socket);

        Assert.Equal(client.LocalEndPoint, accepted.Remote);
        AssertNonBlockingAndCloseOnExec(accepted.Socket);
        using var view = SocketView.Of(accepted.Socket);
        Assert.True(view.NoDelay, "TCP_NODELAY inherited from the listener");
    }

    [Fact]
    public async Task A_dual_stack_listener_reports_an_IPv4_client_as_the_runtime_does()
    {
        if (!DescriptorsSupported() || !Socket.OSSupportsIPv6)
        {
            return;
        }

        var listener = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
        sockets.Own(listener);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        }
        catch (SocketException)
        {
            return; // no IPv6 here
        }

        listener.Listen();
        listener.Blocking = false;
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        // The runtime's own accept of a first client is the reference for the second's address.
        var first = sockets.Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await first.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        listener.Blocking = true;
        var byRuntime = sockets.Own(listener.Accept());
        listener.Blocking = false;

        var second = sockets.Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await second.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var accepted = await AcceptAsync(listener);
        sockets.Own(accepted.Socket);

        var reference = (IPEndPoint)byRuntime.RemoteEndPoint!;
        Assert.Equal(reference.AddressFamily, accepted.Remote.AddressFamily);
        Assert.Equal(reference.Address, accepted.Remote.Address);
        Assert.Equal(((IPEndPoint)second.LocalEndPoint!).Port, accepted.Remote.Port);
    }

    [Fact]
    public async Task An_opened_socket_is_non_blocking_with_the_original_options_and_connects_in_the_background()
    {
        if (!DescriptorsSupported())
        {
            return;
        }

        var listener = Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var socket = sockets.Own(DescriptorSocket.Open(AddressFamily.InterNetwork));
        AssertNonBlockingAndCloseOnExec(socket);
        using (var view = SocketView.Of(socket))
        {
            Assert.True(view.NoDelay, "TCP_NODELAY");
            Assert.Equal(1, (int)view.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        }

        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var started = NonBlockingConnect.Start(socket, (IPEndPoint)listener.LocalEndPoint!);
        Assert.Contains(started, new[] { SocketError.InProgress, SocketError.Success });

        var accepted = await AcceptAsync(listener);
        sockets.Own(accepted.Socket);
        Assert.Equal(SocketError.Success, DescriptorSocket.PendingError(socket));
        using (var view = SocketView.Of(socket))
        {
            Assert.Equal(view.LocalEndPoint, accepted.Remote);
        }
    }

    [Fact]
    public async Task An_IPv6_socket_binds_and_connects_to_the_addresses_it_is_given()
    {
        if (!DescriptorsSupported() || !Socket.OSSupportsIPv6)
        {
            return;
        }

        Socket listener;
        try
        {
            listener = Listen(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        }
        catch (SocketException)
        {
            return; // no ::1 here
        }

        var socket = sockets.Own(DescriptorSocket.Open(AddressFamily.InterNetworkV6));
        socket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Contains(NonBlockingConnect.Start(socket, (IPEndPoint)listener.LocalEndPoint!), new[] { SocketError.InProgress, SocketError.Success });

        var accepted = await AcceptAsync(listener);
        sockets.Own(accepted.Socket);
        using var view = SocketView.Of(socket);
        Assert.Equal(view.LocalEndPoint, accepted.Remote);
        Assert.Equal(IPAddress.IPv6Loopback, accepted.Remote.Address);
    }

    [Fact]
    public async Task A_refused_connect_is_the_pending_error()
    {
        if (!DescriptorsSupported())
        {
            return;
        }

        // A port that is bound but not listening refuses, and nobody else can take it meanwhile.
        var holder = sockets.Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var socket = sockets.Own(DescriptorSocket.Open(AddressFamily.InterNetwork));
        var started = NonBlockingConnect.Start(socket, (IPEndPoint)holder.LocalEndPoint!);
        if (started != SocketError.InProgress)
        {
            Assert.Equal(SocketError.ConnectionRefused, started);
            return;
        }

        await Eventually.TrueAsync(() => DescriptorSocket.PendingError(socket) == SocketError.ConnectionRefused, "the refusal is the pending error");
    }

    [Fact]
    public async Task A_send_shutdown_ends_the_stream_one_way_and_receiving_goes_on()
    {
        if (!DescriptorsSupported())
        {
            return;
        }

        var (mine, peer) = await PairAsync();
        Assert.Equal(2, NonBlockingIo.Send(mine, "hi"u8, more: false));
        mine.ShutdownSend();

        Assert.Equal("hi"u8.ToArray(), await peer.ReadToEndAsync().WaitAsync(Bound));

        peer.Send("back"u8);
        var buffer = new byte[8];
        await Eventually.TrueAsync(() => NonBlockingIo.Receive(mine, buffer) == 4, "the peer's bytes still arrive");
        Assert.Equal("back"u8.ToArray(), buffer[..4]);
    }

    [Fact]
    public async Task Shutdown_and_close_gives_the_peer_an_end_of_stream_and_closes_the_descriptor()
    {
        if (!DescriptorsSupported())
        {
            return;
        }

        var (mine, peer) = await PairAsync();
        mine.ShutdownAndClose();

        Assert.True(mine.IsClosed, "the descriptor is closed");
        Assert.Empty(await peer.ReadToEndAsync().WaitAsync(Bound));
        Assert.Throws<ObjectDisposedException>(() => NonBlockingIo.Receive(mine, new byte[1]));
        mine.ShutdownAndClose(); // a second time is harmless, as an abort after a finish is
    }

    private static bool DescriptorsSupported() => Libc.IsLinuxX64;

    private static void AssertNonBlockingAndCloseOnExec(DescriptorSocket socket)
    {
        var fd = (int)socket.DangerousGetHandle();
        Assert.NotEqual(0, Libc.Fcntl(fd, GetStatusFlags, 0) & NonBlockingFlag);
        Assert.NotEqual(0, Libc.Fcntl(fd, GetDescriptorFlags, 0) & CloseOnExecFlag);
    }

    private static async Task<(DescriptorSocket Socket, IPEndPoint Remote)> AcceptAsync(Socket listener)
    {
        DescriptorSocket? accepted = null;
        IPEndPoint? remote = null;
        await Eventually.TrueAsync(() => (accepted = DescriptorSocket.TryAccept(listener.SafeHandle, out remote)) is not null, "the client is accepted");
        return (accepted!, remote!);
    }

    private async Task<(DescriptorSocket Mine, Socket Peer)> PairAsync()
    {
        var listener = Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var peer = sockets.Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await peer.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await AcceptAsync(listener);
        return (sockets.Own(accepted.Socket), peer);
    }

    private Socket Listen(IPEndPoint endpoint)
    {
        var listener = sockets.Own(new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        listener.NoDelay = true;
        listener.Bind(endpoint);
        listener.Listen();

        // As the engine's Listener does: the accept4 must not wait on it.
        listener.Blocking = false;
        return listener;
    }
}
