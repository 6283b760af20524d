using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>
/// Every C library call the engine makes, in one place and under one library name ("libc", which
/// the runtime resolves to the C library on Linux and macOS alike). One result convention: a call
/// returns its value (0 or more), or the negated <see cref="Errno"/> (<see cref="Errors.Of"/>).
/// A descriptor is passed as its <see cref="SafeHandle"/> where the engine owns one, so a close on
/// another thread waits until a call in flight on it returns and its number is never reused under it.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    /// <summary>True where the engine's own Linux calls apply (epoll, splice, raw sockets): Linux x86-64, whose <c>epoll_event</c> is packed.</summary>
    public static bool IsLinuxX64 => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    public static int Close(int fd) => Result(Raw.Close(fd));

    public static nint Read(int fd, void* buffer, nuint count) => Result(Raw.Read(fd, buffer, count));

    public static nint Write(int fd, void* buffer, nuint count) => Result(Raw.Write(fd, buffer, count));

    private static int Result(int value) => value >= 0 ? value : -Marshal.GetLastPInvokeError();

    private static nint Result(nint value) => value >= 0 ? value : -Marshal.GetLastPInvokeError();

    private static long Result(long value) => value >= 0 ? value : -Marshal.GetLastPInvokeError();

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);

        [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
        internal static partial nint Read(int fd, void* buffer, nuint count);

        [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
        internal static partial nint Write(int fd, void* buffer, nuint count);
    }
}
