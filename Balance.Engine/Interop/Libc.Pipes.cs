using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>Pipes and <c>splice(2)</c>, for the epoll transport's bulk relay.</summary>
internal static unsafe partial class Libc
{
    public const uint SpliceMove = 1;
    public const uint SpliceNonBlocking = 2;
    public const int SetPipeSize = 1031; // F_SETPIPE_SZ
    public const int GetPipeSize = 1032; // F_GETPIPE_SZ
    public const int GetFlags = 3; // F_GETFL
    public const int GetDescriptorFlags = 1; // F_GETFD

    public static int Pipe(int* fds, int flags) => Result(Raw.Pipe(fds, flags));

    /// <summary><c>fcntl</c> with one int argument (F_GETFL, F_GETFD, F_GETPIPE_SZ ignore it).</summary>
    public static int Fcntl(int fd, int command, int value) => Result(Raw.Fcntl(fd, command, value));

    /// <inheritdoc cref="Fcntl(int, int, int)"/>
    public static int Fcntl(SafeHandle fd, int command, int value) => Result(Raw.Fcntl(fd, command, value));

    public static nint SpliceFromSocket(SafeHandle source, int pipeWrite, nuint length, uint flags) => Result(Raw.Splice(source, 0, pipeWrite, 0, length, flags));

    public static nint SpliceToSocket(int pipeRead, SafeHandle destination, nuint length, uint flags) => Result(Raw.Splice(pipeRead, 0, destination, 0, length, flags));

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "pipe2", SetLastError = true)]
        internal static partial int Pipe(int* fds, int flags);

        // fcntl is variadic in C; one int argument travels in the same register either way on x86-64.
        [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int Fcntl(int fd, int command, int value);

        [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int Fcntl(SafeHandle fd, int command, int value);

        [LibraryImport(Library, EntryPoint = "splice", SetLastError = true)]
        internal static partial nint Splice(SafeHandle source, nint sourceOffset, int destination, nint destinationOffset, nuint length, uint flags);

        [LibraryImport(Library, EntryPoint = "splice", SetLastError = true)]
        internal static partial nint Splice(int source, nint sourceOffset, SafeHandle destination, nint destinationOffset, nuint length, uint flags);
    }
}
