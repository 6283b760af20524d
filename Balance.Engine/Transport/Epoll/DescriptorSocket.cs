using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Balance.Interop;

namespace Balance.Transport.Epoll;

/// <summary>
/// A session side on the engine's epoll loop: a bare TCP descriptor, non-blocking from its
/// creation (<c>accept4</c> / <c>socket</c> with SOCK_NONBLOCK), read and written only through
/// <see cref="NonBlockingIo"/>. A .NET <see cref="Socket"/> would cost each connection two
/// <c>fcntl</c> on the accepted socket, one on the back-end socket and a <c>poll</c> before each
/// accept, and wrapping a descriptor in one costs seven calls more. Being its own
/// <see cref="SafeHandle"/>, it is one object per side, and a close on another thread waits until
/// a call in flight on it returns. It carries its place in the loop (<see cref="Registration"/>)
/// and, for a back-end, its held ACKs, so a session needs nothing of the loop itself.
/// </summary>
internal sealed unsafe class DescriptorSocket : SafeHandle, ISessionSocket
{
    private SocketRegistration? registration;

    private DescriptorSocket(int descriptor)
        : base(-1, ownsHandle: true)
    {
        SetHandle(descriptor);
    }

    public override bool IsInvalid => handle < 0;

    /// <summary>Its readiness in the epoll loop; null until it joins the loop.</summary>
    public SocketRegistration? Registration => Volatile.Read(ref registration);

    /// <summary>A back-end's held ACKs (<see cref="Epoll.HeldAck"/>); null when it holds none.</summary>
    public HeldAck? HeldAck { get; set; }

    /// <summary>
    /// Publishes its place in the loop. The caller checks afterwards whether the session still
    /// wants it: an abort that ran before this saw no registration to end.
    /// </summary>
    public void Attach(SocketRegistration joined) => Interlocked.Exchange(ref registration, joined);

    /// <summary>A new non-blocking TCP socket with TCP_NODELAY and SO_KEEPALIVE (the original's options).</summary>
    public static DescriptorSocket Open(AddressFamily family)
    {
        var descriptor = Libc.Socket(
            family == AddressFamily.InterNetworkV6 ? Libc.FamilyInet6 : Libc.FamilyInet,
            Libc.SockStream | Libc.SockNonBlocking | Libc.CloseOnExec,
            Libc.ProtocolTcp);
        if (descriptor < 0)
        {
            throw Errors.SocketException(descriptor);
        }

        var socket = new DescriptorSocket(descriptor);
        try
        {
            socket.Enable(Libc.ProtocolTcp, Libc.TcpNoDelay);
            socket.Enable(Libc.SolSocket, Libc.SoKeepAlive);
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
        var descriptor = Libc.Accept(listener, address, &length, Libc.SockNonBlocking | Libc.CloseOnExec);
        if (descriptor < 0)
        {
            remote = null;
            return Errors.Of(descriptor) == Errno.EAGAIN ? null : throw Errors.SocketException(descriptor);
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
        if (Libc.Bind(this, address, length) is var bound and < 0)
        {
            throw Errors.SocketException(bound);
        }
    }

    public void SetKeepalive(Configuration.KeepaliveTiming timing)
    {
        ArgumentNullException.ThrowIfNull(timing);
        Set(Libc.ProtocolTcp, Libc.TcpKeepIdle, timing.IdleSeconds);
        Set(Libc.ProtocolTcp, Libc.TcpKeepInterval, timing.IntervalSeconds);
        Set(Libc.ProtocolTcp, Libc.TcpKeepCount, timing.Count);
    }

    public void ShutdownSend()
    {
        if (Libc.Shutdown(this, Libc.ShutWrite) is var shut and < 0)
        {
            throw Errors.SocketException(shut);
        }
    }

    public void ShutdownAndClose()
    {
        try
        {
            // A failure means not connected (yet, or any more): nothing to shut down.
            _ = Libc.Shutdown(this, Libc.ShutBoth);
        }
        catch (ObjectDisposedException)
        {
        }

        // A socket that only the loop waits on leaves its set when it closes, without an
        // event: the waits end here instead.
        Registration?.Abort();
        Dispose();
    }

    /// <summary>The pending error (SO_ERROR) of <paramref name="socket"/>, which is how a connect that was in progress ended.</summary>
    public static SocketError PendingError(SafeHandle socket)
    {
        int value = 0, length = sizeof(int);
        var got = Libc.GetOption(socket, Libc.SolSocket, Libc.SoError, &value, &length);
        return got < 0 ? Errors.Of(got).ToSocketError() : ((Errno)value).ToSocketError();
    }

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;

    /// <summary>Ends its waits and frees its loop slot before the close, so no later event can reach it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref registration, null) is { } joined)
        {
            joined.Leave();
        }

        base.Dispose(disposing);
    }

    private void Enable(int level, int name) => Set(level, name, 1);

    private void Set(int level, int name, int value)
    {
        if (Libc.SetOption(this, level, name, &value, sizeof(int)) is var set and < 0)
        {
            throw Errors.SocketException(set);
        }
    }
}
