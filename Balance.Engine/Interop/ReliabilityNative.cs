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

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, FileLockRecord* record);

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
