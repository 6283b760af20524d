using System.Net.Sockets;

namespace Balance.Transport.Sockets;

/// <summary>
/// Sends the last bytes of a direction whose source has already ended, so that the FIN which the
/// shutdown right after it sends travels in the same TCP segment as the data. On Linux that is one
/// <c>send(MSG_MORE)</c>: the kernel holds the bytes back until the shutdown, which then sets FIN
/// on them. For a connection that carries one request and one reply, that is one packet fewer on
/// the client's side, and each loopback packet costs the proxy's core its transmit and its receive
/// processing. Elsewhere the bytes go out as a plain non-blocking send.
/// </summary>
internal static class FinalSegment
{
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

        return NonBlockingIo.Send(socket.SafeHandle, data, more: true);
    }
}
