using System.Net;
using System.Net.Sockets;
using Balance.CommandLine;
using Balance.Configuration;
using Balance.Interop;
using Balance.Transport;
using Balance.Transport.Epoll;
using Balance.Transport.Sockets;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Issue 20 item 9: <c>--keepalive IDLE,INTERVAL,COUNT</c> bounds how long a client that vanished
/// without a FIN holds its session, on both sockets; without it the system's timing stays.
/// </summary>
public sealed class KeepaliveTimingTests
{
    private static readonly KeepaliveTiming Timing = new(7, 3, 2);

    [Fact]
    public void The_option_is_parsed_and_off_by_default()
    {
        Assert.Equal(Timing, CommandLineParser.Parse(["--keepalive", "7,3,2", "8080", "127.0.0.1:80"]).Configuration.Keepalive);
        Assert.Equal(Timing, CommandLineParser.Parse(["--keepalive=7,3,2", "8080", "127.0.0.1:80"]).Configuration.Keepalive);
        Assert.Null(CommandLineParser.Parse(["8080", "127.0.0.1:80"]).Configuration.Keepalive);
    }

    [Theory]
    [InlineData("7,3")]
    [InlineData("7,3,2,1")]
    [InlineData("0,3,2")]
    [InlineData("7,40000,2")]
    [InlineData("7,3,128")]
    [InlineData("a,b,c")]
    public void A_bad_timing_is_one_usage_line(string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(["--keepalive", value, "8080", "127.0.0.1:80"]));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("IDLE,INTERVAL,COUNT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Accepted_sockets_inherit_the_listeners_timing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        SessionOptions.Apply(listener, Timing);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var accepted = listener.Accept();
        AssertTiming(accepted);
    }

    [Fact]
    public void Back_end_sockets_of_both_transports_take_the_timing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var runtime = RuntimeSocket.Open(AddressFamily.InterNetwork);
        runtime.SetKeepalive(Timing);
        AssertTiming(runtime.Socket);
        if (Libc.IsLinuxX64)
        {
            using var bare = DescriptorSocket.Open(AddressFamily.InterNetwork);
            bare.SetKeepalive(Timing);
            using var view = new Socket(new SafeSocketHandle(bare.DangerousGetHandle(), ownsHandle: false));
            AssertTiming(view);
        }
    }

    private static void AssertTiming(Socket socket)
    {
        Assert.Equal(1, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal(Timing.IdleSeconds, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal(Timing.IntervalSeconds, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
        Assert.Equal(Timing.Count, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);
    }
}
