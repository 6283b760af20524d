using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// The epoll loop's reads and sends: single <c>recv</c>/<c>send</c> calls with MSG_DONTWAIT, which
/// never block whatever mode the descriptor is in, so they need no mode switch by the runtime
/// (<see cref="Socket.Blocking"/> costs two <c>fcntl</c>). The back-end socket, whose connect must
/// not block, gets O_NONBLOCK on its descriptor with one call (<see cref="MakeNonBlocking"/>), out
/// of the runtime's sight. The listener cannot: the runtime's accept on a descriptor it believes
/// blocking waits in the runtime's own epoll thread when nobody is there. Linux only, like the loop.
/// </summary>
internal static partial class NonBlockingIo
{
    /// <summary>The result of <see cref="Receive"/> when nothing is there to read.</summary>
    public const int WouldBlock = SocketOperation.WouldBlock;

    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int MsgMore = 0x8000;
    private const int SetStatusFlags = 4; // F_SETFL
    private const int NonBlocking = 0x800; // O_NONBLOCK

    /// <summary>One read: the bytes read (0 at the peer's FIN), <see cref="WouldBlock"/>, or the negated <see cref="SocketError"/>.</summary>
    public static unsafe int Receive(Socket socket, Span<byte> buffer)
    {
        nint n;
        fixed (byte* bytes = buffer)
        {
            n = Recv(socket.SafeHandle, bytes, (nuint)buffer.Length, MsgDontWait);
        }

        return n >= 0 ? (int)n : Failure(WouldBlock);
    }

    /// <summary>
    /// One send: the bytes taken (0 when the send buffer is full), or the negated
    /// <see cref="SocketError"/>. With <paramref name="more"/> the kernel holds the bytes back
    /// for the shutdown that follows, which then sets FIN on them (see <see cref="FinalSegment"/>).
    /// </summary>
    public static unsafe int Send(Socket socket, ReadOnlySpan<byte> data, bool more)
    {
        nint n;
        fixed (byte* bytes = data)
        {
            n = SendCall(socket.SafeHandle, bytes, (nuint)data.Length, MsgDontWait | MsgNoSignal | (more ? MsgMore : 0));
        }

        return n >= 0 ? (int)n : Failure(0);
    }

    /// <summary>
    /// Makes a socket's descriptor non-blocking with one <c>fcntl</c>; the runtime still treats
    /// it as blocking, so it must then only be read and written through this class. Meant for a
    /// socket this process just created, which has no other status flags to keep.
    /// </summary>
    public static void MakeNonBlocking(Socket socket)
    {
        if (SetFlags(socket.SafeHandle, SetStatusFlags, NonBlocking) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new SocketException((int)LinuxErrors.ToSocketError(errno));
        }
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

    // fcntl is variadic in C; F_SETFL takes one int, which the x86-64 calling convention passes
    // in the same register either way.
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SetFlags(SafeHandle socket, int command, int flags);
}
