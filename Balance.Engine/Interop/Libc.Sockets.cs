using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>The socket calls of the epoll transport's bare descriptors (Linux values).</summary>
internal static unsafe partial class Libc
{
    public const int SockStream = 1;
    public const int SockNonBlocking = 0x800; // SOCK_NONBLOCK, the same bit as O_NONBLOCK
    public const int FamilyInet = 2;
    public const int FamilyInet6 = 10;
    public const int ProtocolTcp = 6;
    public const int SolSocket = 1;
    public const int SoError = 4;
    public const int SoKeepAlive = 9;
    public const int SoReusePort = 15;
    public const int TcpNoDelay = 1; // at level IPPROTO_TCP
    public const int TcpQuickAck = 12; // at level IPPROTO_TCP
    public const int TcpKeepIdle = 4; // at level IPPROTO_TCP
    public const int TcpKeepInterval = 5; // at level IPPROTO_TCP
    public const int TcpKeepCount = 6; // at level IPPROTO_TCP
    public const int ShutWrite = 1;
    public const int ShutBoth = 2;
    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int MsgMore = 0x8000;

    public static int Socket(int family, int type, int protocol) => Result(Raw.Socket(family, type, protocol));

    public static int Accept(SafeHandle listener, byte* address, int* length, int flags) => Result(Raw.Accept(listener, address, length, flags));

    public static int SetOption(SafeHandle socket, int level, int name, int* value, int length) => Result(Raw.SetOption(socket, level, name, value, length));

    public static int GetOption(SafeHandle socket, int level, int name, int* value, int* length) => Result(Raw.GetOption(socket, level, name, value, length));

    public static int Bind(SafeHandle socket, byte* address, int length) => Result(Raw.Bind(socket, address, length));

    public static int Connect(SafeHandle socket, byte* address, int length) => Result(Raw.Connect(socket, address, length));

    public static int Shutdown(SafeHandle socket, int how) => Result(Raw.Shutdown(socket, how));

    /// <summary><c>recv</c>; <paramref name="flags"/> must hold MSG_DONTWAIT (the call runs without a GC transition).</summary>
    public static nint Receive(SafeHandle socket, byte* buffer, nuint length, int flags) => Result(Raw.Receive(socket, buffer, length, flags));

    /// <summary><c>send</c>; <paramref name="flags"/> must hold MSG_DONTWAIT (the call runs without a GC transition).</summary>
    public static nint Send(SafeHandle socket, byte* buffer, nuint length, int flags) => Result(Raw.Send(socket, buffer, length, flags));

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
        internal static partial int Socket(int family, int type, int protocol);

        [LibraryImport(Library, EntryPoint = "accept4", SetLastError = true)]
        internal static partial int Accept(SafeHandle listener, byte* address, int* length, int flags);

        [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
        internal static partial int SetOption(SafeHandle socket, int level, int name, int* value, int length);

        [LibraryImport(Library, EntryPoint = "getsockopt", SetLastError = true)]
        internal static partial int GetOption(SafeHandle socket, int level, int name, int* value, int* length);

        [LibraryImport(Library, EntryPoint = "bind", SetLastError = true)]
        internal static partial int Bind(SafeHandle socket, byte* address, int length);

        [LibraryImport(Library, EntryPoint = "connect", SetLastError = true)]
        internal static partial int Connect(SafeHandle socket, byte* address, int length);

        [LibraryImport(Library, EntryPoint = "shutdown", SetLastError = true)]
        internal static partial int Shutdown(SafeHandle socket, int how);

        // Only ever called with MSG_DONTWAIT (NonBlockingIo): they never block, so the GC
        // transition, a measurable part of a keep-alive message's user time, is skipped.
        [LibraryImport(Library, EntryPoint = "recv", SetLastError = true)]
        [SuppressGCTransition]
        internal static partial nint Receive(SafeHandle socket, byte* buffer, nuint length, int flags);

        [LibraryImport(Library, EntryPoint = "send", SetLastError = true)]
        [SuppressGCTransition]
        internal static partial nint Send(SafeHandle socket, byte* buffer, nuint length, int flags);
    }
}
