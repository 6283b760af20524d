using System.Net.Sockets;
using System.Runtime.InteropServices;
using Balance.Interop;

namespace Balance.Transport;

/// <summary>
/// The epoll loop's reads and sends: single <c>recv</c>/<c>send</c> calls with MSG_DONTWAIT, which
/// never block whatever mode the descriptor is in (the loop's own descriptors are non-blocking
/// anyway; tests and benchmarks also pass runtime sockets). Linux only, like the loop.
/// </summary>
internal static class NonBlockingIo
{
    /// <summary>The result of <see cref="Receive"/> when nothing is there to read.</summary>
    public const int WouldBlock = -(int)SocketError.WouldBlock;

    /// <summary>One read: the bytes read (0 at the peer's FIN), <see cref="WouldBlock"/>, or the negated <see cref="SocketError"/>.</summary>
    public static unsafe int Receive(SafeHandle socket, Span<byte> buffer)
    {
        nint n;
        fixed (byte* bytes = buffer)
        {
            n = Libc.Receive(socket, bytes, (nuint)buffer.Length, Libc.MsgDontWait);
        }

        return n >= 0 ? (int)n : Failure(n, WouldBlock);
    }

    /// <summary>
    /// One send: the bytes taken (0 when the send buffer is full), or the negated
    /// <see cref="SocketError"/>. With <paramref name="more"/> the kernel holds the bytes back
    /// for the shutdown that follows, which then sets FIN on them (see <see cref="Sockets.FinalSegment"/>).
    /// </summary>
    public static unsafe int Send(SafeHandle socket, ReadOnlySpan<byte> data, bool more)
    {
        nint n;
        fixed (byte* bytes = data)
        {
            n = Libc.Send(socket, bytes, (nuint)data.Length, Libc.MsgDontWait | Libc.MsgNoSignal | (more ? Libc.MsgMore : 0));
        }

        return n >= 0 ? (int)n : Failure(n, 0);
    }

    private static int Failure(nint result, int wouldBlock)
    {
        var errno = Errors.Of(result);
        return errno == Errno.EAGAIN ? wouldBlock : -(int)errno.ToSocketError();
    }
}
