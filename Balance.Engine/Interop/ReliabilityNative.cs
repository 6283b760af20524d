using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>
/// Open-file-description byte locks (<c>F_OFD_SETLK</c>/<c>F_OFD_GETLK</c>, Linux 3.15+). Unlike
/// flock they can be tested without being taken, so a liveness probe never holds the lock a
/// starting engine needs; unlike classic fcntl locks they belong to one open file, so two opens
/// in one process exclude each other and closing an unrelated descriptor keeps them.
/// </summary>
internal static unsafe partial class ReliabilityNative
{
    private const int OfdGetLock = 36;
    private const int OfdSetLock = 37;
    private const short WriteLock = 1;
    private const short Unlocked = 2;

    /// <summary>Takes an exclusive lock on one byte without waiting: 0, or the errno (11 or 13: someone holds it).</summary>
    public static int TryLockByte(int fd, long offset)
    {
        var request = new FileLockRecord { Type = WriteLock, Start = offset, Length = 1 };
        return Fcntl(fd, OfdSetLock, &request) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>True when another open file holds a lock on the byte; takes nothing. Throws on a failed test.</summary>
    public static bool IsByteLocked(int fd, long offset)
    {
        var request = new FileLockRecord { Type = WriteLock, Start = offset, Length = 1 };
        if (Fcntl(fd, OfdGetLock, &request) != 0)
        {
            throw new IOException("cannot test a lock: " + Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
        }

        return request.Type != Unlocked;
    }

    private const int AddSeals = 1033;
    private const int SealSeal = 1;
    private const int SealShrink = 2;
    private const int SealGrow = 4;
    private const uint MemfdCloseOnExec = 1;
    private const uint MemfdAllowSealing = 2;

    /// <summary>
    /// An anonymous shared-memory file (memfd) of <paramref name="size"/> bytes whose size can never
    /// change again: truncating it fails with EPERM for everyone, root included, so no mapping of it
    /// can ever fault on a missing page. Returns the descriptor, or -1 with the errno in <paramref name="errno"/>.
    /// </summary>
    public static int CreateSealedMemory(string name, long size, out int errno)
    {
        var fd = MemfdCreate(name, MemfdCloseOnExec | MemfdAllowSealing);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return -1;
        }

        if (Ftruncate(fd, size) != 0 || FcntlInt(fd, AddSeals, SealShrink | SealGrow | SealSeal) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            Close(fd);
            return -1;
        }

        errno = 0;
        return fd;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, FileLockRecord* record);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlInt(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

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
}
