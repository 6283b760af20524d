using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// The Linux socket calls behind <see cref="DescriptorSocket"/> and <see cref="NonBlockingConnect"/>.
/// A descriptor is passed as its <see cref="SafeHandle"/>, so a close on another thread (the
/// sweeper, an engine stop) waits until the call returns and the number is never reused under it.
/// </summary>
internal static unsafe partial class SocketNative
{
    public const int Stream = 1; // SOCK_STREAM
    public const int NonBlocking = 0x800; // SOCK_NONBLOCK, the same bit as O_NONBLOCK
    public const int CloseOnExec = 0x80000; // SOCK_CLOEXEC
    public const int FamilyInet = 2;
    public const int FamilyInet6 = 10;
    public const int ProtocolTcp = 6;
    public const int LevelSocket = 1; // SOL_SOCKET
    public const int OptionError = 4; // SO_ERROR
    public const int OptionKeepAlive = 9; // SO_KEEPALIVE
    public const int OptionNoDelay = 1; // TCP_NODELAY, at level IPPROTO_TCP
    public const int OptionQuickAck = 12; // TCP_QUICKACK, at level IPPROTO_TCP
    public const int ShutdownWrite = 1; // SHUT_WR
    public const int ShutdownBoth = 2; // SHUT_RDWR

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int family, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept(SafeHandle listener, byte* address, int* length, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetOption(SafeHandle socket, int level, int name, int* value, int length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetOption(SafeHandle socket, int level, int name, int* value, int* length);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(SafeHandle socket, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(SafeHandle socket, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(SafeHandle socket, int how);
}
