using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>epoll and eventfd, for the epoll transport's loop.</summary>
internal static unsafe partial class Libc
{
    public const uint EpollIn = 0x001;
    public const uint EpollPriority = 0x002; // EPOLLPRI: TCP urgent data is queued
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    public const uint EpollEdgeTriggered = 1u << 31;
    public const int EpollCtlAdd = 1;
    public const int EventFdNonBlocking = 0x800;

    /// <summary>O_CLOEXEC, EPOLL_CLOEXEC, EFD_CLOEXEC and SOCK_CLOEXEC: the same bit.</summary>
    public const int CloseOnExec = 0x80000;

    /// <summary><c>struct epoll_event</c>, packed on x86-64 (12 bytes).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    public static int EpollCreate(int flags) => Result(Raw.EpollCreate(flags));

    public static int EpollControl(int epoll, int operation, SafeHandle socket, EpollEvent* events) => Result(Raw.EpollControl(epoll, operation, socket, events));

    public static int EpollControl(int epoll, int operation, int fd, EpollEvent* events) => Result(Raw.EpollControl(epoll, operation, fd, events));

    public static int EpollWait(int epoll, EpollEvent* events, int maxEvents, int timeoutMs) => Result(Raw.EpollWait(epoll, events, maxEvents, timeoutMs));

    public static int EventFd(uint initial, int flags) => Result(Raw.EventFd(initial, flags));

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "epoll_create1", SetLastError = true)]
        internal static partial int EpollCreate(int flags);

        [LibraryImport(Library, EntryPoint = "epoll_ctl", SetLastError = true)]
        internal static partial int EpollControl(int epoll, int operation, SafeHandle socket, EpollEvent* events);

        [LibraryImport(Library, EntryPoint = "epoll_ctl", SetLastError = true)]
        internal static partial int EpollControl(int epoll, int operation, int fd, EpollEvent* events);

        [LibraryImport(Library, EntryPoint = "epoll_wait", SetLastError = true)]
        internal static partial int EpollWait(int epoll, EpollEvent* events, int maxEvents, int timeoutMs);

        [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
        internal static partial int EventFd(uint initial, int flags);
    }
}
