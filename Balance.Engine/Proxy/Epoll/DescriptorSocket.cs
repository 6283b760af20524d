using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// A session side on the engine's epoll loop: a bare TCP descriptor, non-blocking from its
/// creation (<c>accept4</c> / <c>socket</c> with SOCK_NONBLOCK), read and written only through
/// <see cref="NonBlockingIo"/>. A .NET <see cref="Socket"/> would cost each connection two
/// <c>fcntl</c> on the accepted socket, one on the back-end socket and a <c>poll</c> before each
/// accept, and wrapping a descriptor in one costs seven calls more. Being its own
/// <see cref="SafeHandle"/>, it is one object per side, and a close on another thread waits until
/// a call in flight on it returns.
/// </summary>
internal sealed unsafe class DescriptorSocket : SafeHandle, ISessionSocket
{
    private DescriptorSocket(int descriptor)
        : base(-1, ownsHandle: true)
    {
        SetHandle(descriptor);
    }

    public override bool IsInvalid => handle < 0;

    public SafeHandle Handle => this;

    public Socket? Runtime => null;

    /// <summary>A new non-blocking TCP socket with TCP_NODELAY and SO_KEEPALIVE (the original's options).</summary>
    public static DescriptorSocket Open(AddressFamily family)
    {
        var descriptor = SocketNative.Socket(
            family == AddressFamily.InterNetworkV6 ? SocketNative.FamilyInet6 : SocketNative.FamilyInet,
            SocketNative.Stream | SocketNative.NonBlocking | SocketNative.CloseOnExec,
            SocketNative.ProtocolTcp);
        if (descriptor < 0)
        {
            throw LastError();
        }

        var socket = new DescriptorSocket(descriptor);
        try
        {
            socket.Enable(SocketNative.ProtocolTcp, SocketNative.OptionNoDelay);
            socket.Enable(SocketNative.LevelSocket, SocketNative.OptionKeepAlive);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The next client waiting on <paramref name="listener"/>, non-blocking, with the options it
    /// inherits from the listener; null when nobody is waiting. Throws <see cref="SocketException"/>
    /// for the errors the runtime's accept reports (out of descriptors, a client that gave up).
    /// </summary>
    public static DescriptorSocket? TryAccept(SafeHandle listener, out IPEndPoint? remote)
    {
        var address = stackalloc byte[RawSocketAddress.MaxLength];
        var length = RawSocketAddress.MaxLength;
        var descriptor = SocketNative.Accept(listener, address, &length, SocketNative.NonBlocking | SocketNative.CloseOnExec);
        if (descriptor < 0)
        {
            remote = null;
            var errno = Marshal.GetLastPInvokeError();
            return errno == LinuxErrors.WouldBlock ? null : throw new SocketException((int)LinuxErrors.ToSocketError(errno));
        }

        var socket = new DescriptorSocket(descriptor);
        remote = RawSocketAddress.Read(new ReadOnlySpan<byte>(address, Math.Min(length, RawSocketAddress.MaxLength)));
        if (remote is null)
        {
            socket.Dispose();
            throw new SocketException((int)SocketError.AddressFamilyNotSupported);
        }

        return socket;
    }

    public void Bind(IPEndPoint local)
    {
        var address = stackalloc byte[RawSocketAddress.MaxLength];
        var length = RawSocketAddress.Write(local, new Span<byte>(address, RawSocketAddress.MaxLength));
        if (SocketNative.Bind(this, address, length) != 0)
        {
            throw LastError();
        }
    }

    public void ShutdownSend()
    {
        if (SocketNative.Shutdown(this, SocketNative.ShutdownWrite) != 0)
        {
            throw LastError();
        }
    }

    public void ShutdownAndClose()
    {
        try
        {
            // A failure means not connected (yet, or any more): nothing to shut down.
            _ = SocketNative.Shutdown(this, SocketNative.ShutdownBoth);
        }
        catch (ObjectDisposedException)
        {
        }

        Dispose();
    }

    /// <summary>The pending error (SO_ERROR) of <paramref name="socket"/>, which is how a connect that was in progress ended.</summary>
    public static SocketError PendingError(SafeHandle socket)
    {
        int value = 0, length = sizeof(int);
        if (SocketNative.GetOption(socket, SocketNative.LevelSocket, SocketNative.OptionError, &value, &length) != 0)
        {
            return LinuxErrors.ToSocketError(Marshal.GetLastPInvokeError());
        }

        return value == 0 ? SocketError.Success : LinuxErrors.ToSocketError(value);
    }

    protected override bool ReleaseHandle() => EpollNative.Close((int)handle) == 0;

    private void Enable(int level, int name)
    {
        var one = 1;
        if (SocketNative.SetOption(this, level, name, &one, sizeof(int)) != 0)
        {
            throw LastError();
        }
    }

    private static SocketException LastError() => new((int)LinuxErrors.ToSocketError(Marshal.GetLastPInvokeError()));
}
