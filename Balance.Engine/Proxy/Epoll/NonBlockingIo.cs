using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// The epoll loop's reads and sends: single <c>recv</c>/<c>send</c> calls with MSG_DONTWAIT, which
/// never block whatever mode the descriptor is in (the loop's own descriptors are non-blocking
/// anyway; tests and benchmarks also pass runtime sockets). Linux only, like the loop.
/// </summary>
internal static partial class NonBlockingIo
{
    /// <summary>The result of <see cref="Receive"/> when nothing is there to read.</summary>
    public const int WouldBlock = SocketOperation.WouldBlock;

    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int MsgMore = 0x8000;

    /// <summary>One read: the bytes read (0 at the peer's FIN), <see cref="WouldBlock"/>, or the negated <see cref="SocketError"/>.</summary>
    public static unsafe int Receive(SafeHandle socket, Span<byte> buffer)
    {
        nint n;
        fixed (byte* bytes = buffer)
        {
            n = Recv(socket, bytes, (nuint)buffer.Length, MsgDontWait);
        }

        return n >= 0 ? (int)n : Failure(WouldBlock);
    }

    /// <summary>
    /// One send: the bytes taken (0 when the send buffer is full), or the negated
    /// <see cref="SocketError"/>. With <paramref name="more"/> the kernel holds the bytes back
    /// for the shutdown that follows, which then sets FIN on them (see <see cref="FinalSegment"/>).
    /// </summary>
    public static unsafe int Send(SafeHandle socket, ReadOnlySpan<byte> data, bool more)
    {
        nint n;
        fixed (byte* bytes = data)
        {
            n = SendCall(socket, bytes, (nuint)data.Length, MsgDontWait | MsgNoSignal | (more ? MsgMore : 0));
        }

        return n >= 0 ? (int)n : Failure(0);
    }

    private static int Failure(int wouldBlock)
    {
        var errno = Marshal.GetLastPInvokeError();
        return errno == LinuxErrors.WouldBlock ? wouldBlock : -(int)LinuxErrors.ToSocketError(errno);
    }

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint Recv(SafeHandle socket, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint SendCall(SafeHandle socket, byte* buffer, nuint length, int flags);
}
