using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// Holds back the back-end handshake's last ACK so that it leaves with the client's first bytes,
/// and the ACK of the back-end's first reply so that it leaves with the FIN when that reply is
/// also the last (haproxy's <c>option tcp-smart-connect</c>, there off by default in TCP mode).
/// A back-end socket goes into delayed-ACK mode (<c>TCP_QUICKACK</c> 0) before its connect;
/// the relay releases it (<c>TCP_QUICKACK</c> 1, which also sends a held ACK at once) as soon
/// as waiting could cost the back-end time: when the client has nothing to send yet (a
/// protocol where the server speaks first would otherwise see the connection only when the
/// delayed-ACK timer fires), and when the back-end's first reply is not followed by its end
/// (a back-end that writes its reply in two parts with Nagle's algorithm waits for that ACK).
/// In connection-per-request traffic nothing is released, and each connection costs the
/// proxy's core two loopback packets fewer for one <c>setsockopt</c> more.
/// </summary>
internal static unsafe class HeldAck
{
    /// <summary>Delayed-ACK mode for a socket about to connect; false when the kernel refused it.</summary>
    public static bool Hold(SafeHandle socket) => SetQuickAck(socket, 0);

    /// <summary>Back to the kernel's own ACK timing; an ACK held back goes out now.</summary>
    public static void Release(SafeHandle socket) => _ = SetQuickAck(socket, 1);

    private static bool SetQuickAck(SafeHandle socket, int value) =>
        SocketNative.SetOption(socket, SocketNative.ProtocolTcp, SocketNative.OptionQuickAck, &value, sizeof(int)) == 0;
}
