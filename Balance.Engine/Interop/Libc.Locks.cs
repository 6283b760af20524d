using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>
/// Open-file-description byte locks (<c>F_OFD_SETLK</c>/<c>F_OFD_GETLK</c>, Linux 3.15+) and
/// size-sealed shared memory. Unlike flock, a byte lock can be tested without being taken, so a
/// liveness probe never holds the lock a starting engine needs; it belongs to one open file, so
/// closing an unrelated descriptor keeps it.
/// </summary>
internal static unsafe partial class Libc
{
    private const int OfdGetLock = 36;
    private const int OfdSetLock = 37;
    private const short WriteLock = 1;
    private const short Unlocked = 2;
    private const int AddSeals = 1033;
    private const int SealSeal = 1;
    private const int SealShrink = 2;
    private const int SealGrow = 4;
    private const uint MemfdCloseOnExec = 1;
    private const uint MemfdAllowSealing = 2;

    /// <summary>An exclusive lock on one byte without waiting: 0, or the negated errno (EAGAIN or EACCES: someone holds it).</summary>
    public static int TryLockByte(int fd, long offset)
    {
        var request = new FileLockRecord { Type = WriteLock, Start = offset, Length = 1 };
        return Result(Raw.FcntlLock(fd, OfdSetLock, &request));
    }

    /// <summary>True when another open file holds a lock on the byte; takes nothing. Throws <see cref="IOException"/> on a failed test.</summary>
    public static bool IsByteLocked(int fd, long offset)
    {
        var request = new FileLockRecord { Type = WriteLock, Start = offset, Length = 1 };
        if (Result(Raw.FcntlLock(fd, OfdGetLock, &request)) is var tested and < 0)
        {
            throw new IOException("cannot test a lock: " + Errors.Of(tested).Describe());
        }

        return request.Type != Unlocked;
    }

    /// <summary>
    /// An anonymous shared-memory file (memfd) of <paramref name="size"/> bytes whose size can never
    /// change again: truncating it fails with EPERM for everyone, root included, so no mapping of it
    /// can fault on a missing page. The descriptor, or the negated errno.
    /// </summary>
    public static int CreateSealedMemory(string name, long size)
    {
        var fd = Result(Raw.MemfdCreate(name, MemfdCloseOnExec | MemfdAllowSealing));
        if (fd < 0)
        {
            return fd;
        }

        if (Result(Raw.Ftruncate(fd, size)) is var failed and < 0 || (failed = Result(Raw.FcntlInt(fd, AddSeals, SealShrink | SealGrow | SealSeal))) < 0)
        {
            Raw.Close(fd);
            return failed;
        }

        return fd;
    }

    /// <summary>struct flock of Linux on 64-bit targets (x64, arm64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct FileLockRecord
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int FcntlLock(int fd, int command, FileLockRecord* record);

        [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int FcntlInt(int fd, int command, int argument);

        [LibraryImport(Library, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int MemfdCreate(string name, uint flags);

        [LibraryImport(Library, EntryPoint = "ftruncate", SetLastError = true)]
        internal static partial int Ftruncate(int fd, long length);
    }
}
