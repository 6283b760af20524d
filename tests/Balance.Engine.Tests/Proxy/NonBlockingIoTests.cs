using System.Net;
using System.Net.Sockets;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Balance.Transport;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>
/// The epoll loop's direct reads and sends on real loopback sockets that the runtime treats as
/// blocking (the loop never switches them): none of them waits, and each reports data, a full
/// buffer, the end of stream and a reset as values.
/// </summary>
public sealed class NonBlockingIoTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly TestSockets sockets = new();

    public void Dispose() => sockets.Dispose();

    [Fact]
    public async Task A_read_on_a_blocking_socket_with_nothing_there_returns_at_once_and_then_takes_the_data()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // the loop and its direct calls are Linux only
        }

        var (mine, peer) = sockets.Pair();
        var buffer = new byte[16];

        // Bounded: a read that waited on this blocking socket would otherwise hang the test.
        Assert.Equal(NonBlockingIo.WouldBlock, await Task.Run(() => NonBlockingIo.Receive(mine.SafeHandle, buffer)).WaitAsync(Bound));

        peer.Send("hello"u8);
        await Eventually.TrueAsync(() => mine.Available == 5, "the bytes have arrived");
        Assert.Equal(5, NonBlockingIo.Receive(mine.SafeHandle, buffer));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);

        peer.Shutdown(SocketShutdown.Send);
        await Eventually.TrueAsync(() => NonBlockingIo.Receive(mine.SafeHandle, buffer) == 0, "the FIN reads as 0");
    }

    [Fact]
    public async Task A_send_into_a_full_buffer_takes_what_fits_then_nothing_and_never_waits()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (mine, _) = sockets.Pair();
        mine.SendBufferSize = 4096;
        var chunk = new byte[64 * 1024];
        var (total, last) = await Task.Run(() =>
        {
            var sum = 0;
            int sent;
            while ((sent = NonBlockingIo.Send(mine.SafeHandle, chunk, more: false)) > 0 && sum < 64 * 1024 * 1024)
            {
                sum += sent;
            }

            return (sum, sent);
        }).WaitAsync(Bound); // a send that waited on this blocking socket would hang here

        Assert.Equal(0, last);
        Assert.InRange(total, 1, 64 * 1024 * 1024 - 1);
    }

    [Fact]
    public async Task A_reset_peer_is_reported_as_a_negated_socket_error_by_both_calls()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (mine, peer) = sockets.Pair();
        peer.LingerState = new LingerOption(true, 0);
        peer.Close();

        var buffer = new byte[16];
        await Eventually.TrueAsync(() => NonBlockingIo.Receive(mine.SafeHandle, buffer) == -(int)SocketError.ConnectionReset, "the reset is reported");
        Assert.True(NonBlockingIo.Send(mine.SafeHandle, "late"u8, more: false) < 0, "a send after the reset fails as a value");
    }
}
