using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>Files, descriptor limits and the process's session: the segment files, detaching, start-up.</summary>
internal static unsafe partial class Libc
{
    public const int OpenReadWrite = 0x2; // O_RDWR, the same value on Linux and macOS
    public const int OpenCreate = 0x40; // Linux
    public const int OpenExclusive = 0x80; // Linux
    public const int AtEmptyPath = 0x1000;
    public const int LockExclusive = 2; // LOCK_EX
    public const int LockNonBlocking = 4; // LOCK_NB
    public const int RlimitNoFile = 7; // RLIMIT_NOFILE on Linux
    public const int OpenDirectory = 0x10000; // O_DIRECTORY, Linux x86-64
    public const int OpenCloseOnExec = 0x80000; // O_CLOEXEC, Linux
    public const int SetDescriptorFlags = 2; // F_SETFD
    public const int DescriptorCloseOnExec = 1; // FD_CLOEXEC
    public const uint CloseRangeCloseOnExec = 4; // CLOSE_RANGE_CLOEXEC

    /// <summary><c>struct rlimit</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public record struct RLimit(ulong Current, ulong Maximum);

    public static int Open(string path, int flags, int mode) => Result(Raw.Open(path, flags, mode));

    public static int Dup2(int oldFd, int newFd) => Result(Raw.Dup2(oldFd, newFd));

    public static int Flock(int fd, int operation) => Result(Raw.Flock(fd, operation));

    public static int Statx(int dirFd, string path, int flags, int mask, byte* buffer) => Result(Raw.Statx(dirFd, path, flags, mask, buffer));

    /// <summary>The effective user id; never fails.</summary>
    public static uint GetEffectiveUserId() => Raw.GetEffectiveUserId();

    public static int SetSid() => Result(Raw.SetSid());

    public static int GetRLimit(int resource, out RLimit limit) => Result(Raw.GetRLimit(resource, out limit));

    public static int SetRLimit(int resource, in RLimit limit) => Result(Raw.SetRLimit(resource, in limit));

    /// <summary>Rewinds a directory descriptor (whence 0, SEEK_SET) so the next <see cref="GetDirectoryEntries"/> lists it again.</summary>
    public static long Rewind(int fd) => Result(Raw.Seek(fd, 0, 0));

    /// <summary><c>getdents64</c>: fills <paramref name="buffer"/> with directory records; 0 at the end.</summary>
    public static nint GetDirectoryEntries(int fd, byte* buffer, nuint length) => Result(Raw.GetDents64(fd, buffer, length));

    /// <summary>
    /// <c>close_range</c> (Linux 5.9; with <see cref="CloseRangeCloseOnExec"/> 5.11): ENOSYS, EINVAL or
    /// a missing entry point (glibc before 2.34, reported as ENOSYS) mean the caller walks the
    /// descriptors itself.
    /// </summary>
    public static int CloseRange(uint first, uint last, uint flags)
    {
        try
        {
            return Result(Raw.CloseRange(first, last, flags));
        }
        catch (EntryPointNotFoundException)
        {
            return -(int)Errno.ENOSYS;
        }
    }

    /// <summary>The calling thread's kernel id; never fails.</summary>
    public static int GetThreadId() => Raw.GetThreadId();

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags, int mode);

        [LibraryImport(Library, EntryPoint = "dup2", SetLastError = true)]
        internal static partial int Dup2(int oldFd, int newFd);

        [LibraryImport(Library, EntryPoint = "flock", SetLastError = true)]
        internal static partial int Flock(int fd, int operation);

        [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Statx(int dirFd, string path, int flags, int mask, byte* buffer);

        [LibraryImport(Library, EntryPoint = "geteuid")]
        internal static partial uint GetEffectiveUserId();

        [LibraryImport(Library, EntryPoint = "setsid", SetLastError = true)]
        internal static partial int SetSid();

        [LibraryImport(Library, EntryPoint = "getrlimit", SetLastError = true)]
        internal static partial int GetRLimit(int resource, out RLimit limit);

        [LibraryImport(Library, EntryPoint = "setrlimit", SetLastError = true)]
        internal static partial int SetRLimit(int resource, in RLimit limit);

        [LibraryImport(Library, EntryPoint = "lseek", SetLastError = true)]
        internal static partial long Seek(int fd, long offset, int whence);

        [LibraryImport(Library, EntryPoint = "getdents64", SetLastError = true)]
        internal static partial nint GetDents64(int fd, byte* buffer, nuint length);

        [LibraryImport(Library, EntryPoint = "close_range", SetLastError = true)]
        internal static partial int CloseRange(uint first, uint last, uint flags);

        [LibraryImport(Library, EntryPoint = "gettid")]
        internal static partial int GetThreadId();
    }
}
