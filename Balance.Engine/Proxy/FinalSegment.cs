using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// Sends the last bytes of a direction whose source has already ended, so that the FIN which the
/// shutdown right after it sends travels in the same TCP segment as the data. On Linux that is one
/// <c>send(MSG_MORE)</c>: the kernel holds the bytes back until the shutdown, which then sets FIN
/// on them. For a connection that carries one request and one reply, that is one packet fewer on
/// the client's side, and each loopback packet costs the proxy's core its transmit and its receive
/// processing. Elsewhere the bytes go out as a plain non-blocking send.
/// </summary>
internal static partial class FinalSegment
{
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int MsgMore = 0x8000;

    /// <summary>
    /// One non-blocking send of <paramref name="data"/> on a non-blocking socket: the bytes taken (0
    /// when the send buffer is full, the caller then sends the rest the ordinary way), or the
    /// negated <see cref="SocketError"/>.
    /// </summary>
    public static int Send(Socket socket, ReadOnlySpan<byte> data)
    {
        if (socket.Blocking || !OperatingSystem.IsLinux())
        {
            return SocketOperation.SendNow(socket, data);
        }

        nint n;
        unsafe
        {
            fixed (byte* bytes = data)
            {
                n = SendMore(socket.SafeHandle, bytes, (nuint)data.Length, MsgMore | MsgDontWait | MsgNoSignal);
            }
        }

        if (n >= 0)
        {
            return (int)n;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == LinuxErrors.WouldBlock ? 0 : -(int)LinuxErrors.ToSocketError(errno);
    }

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint SendMore(SafeHandle socket, byte* buffer, nuint length, int flags);
}
