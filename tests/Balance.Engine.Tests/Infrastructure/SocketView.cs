using System.Net.Sockets;
using Balance.Proxy;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// A runtime <see cref="Socket"/> over a session socket's descriptor that does not own it, so a
/// test can read its options and addresses with the runtime's API; disposing it leaves the
/// descriptor open.
/// </summary>
internal static class SocketView
{
    public static Socket Of(ISessionSocket socket) => new(new SafeSocketHandle(socket.Handle.DangerousGetHandle(), ownsHandle: false));
}
