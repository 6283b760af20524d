using System.Runtime.InteropServices;

namespace Balance.Proxy;

/// <summary>
/// The Linux calls the epoll loop needs, and the close of every descriptor the engine opens itself. Only x86-64 is enabled: there <c>struct epoll_event</c>
/// is packed (12 bytes); on other architectures it has natural alignment, and the loop is off.
/// </summary>
internal static unsafe partial class EpollNative
{
    public const uint In = 0x001;
    public const uint Priority = 0x002; // EPOLLPRI: TCP urgent data is queued
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint RdHup = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    public const int CtlAdd = 1;
    public const int CloseOnExec = 0x80000;
    public const int EventFdNonBlocking = 0x800;

    public const int Interrupted = 4; // EINTR

    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    public struct Event
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epoll, int operation, SafeHandle socket, Event* events);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epoll, int operation, int fd, Event* events);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(int epoll, Event* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;
}
