using System.Net.Sockets;
using Balance.Transport;
using Balance.Transport.Epoll;
using Balance.Transport.Sockets;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// A runtime <see cref="Socket"/> over a session socket's descriptor that does not own it, so a
/// test can read its options and addresses with the runtime's API; disposing it leaves the
/// descriptor open.
/// </summary>
internal static class SocketView
{
    public static Socket Of(ISessionSocket socket) => socket switch
    {
        DescriptorSocket descriptor => new(new SafeSocketHandle(descriptor.DangerousGetHandle(), ownsHandle: false)),
        RuntimeSocket runtime => new(new SafeSocketHandle(runtime.Socket.SafeHandle.DangerousGetHandle(), ownsHandle: false)),
        _ => throw new ArgumentException("not a socket of either transport", nameof(socket)),
    };
}
