using System.Globalization;
using System.Runtime.InteropServices;
using Balance.Interop;
using Microsoft.Win32.SafeHandles;

namespace Balance.Control;

/// <summary>How <see cref="OwnedFile.Open"/> treats a missing or existing file.</summary>
internal enum OwnedFileMode
{
    /// <summary>The file must exist.</summary>
    Existing,

    /// <summary>Opened when it exists, created (mode 0600) when it does not.</summary>
    OpenOrCreate,

    /// <summary>Created (mode 0600); an existing file of any kind fails.</summary>
    CreateNew,
}

/// <summary>
/// Opens the segment and lock files so that another local user cannot redirect them. The segment
/// directory (/dev/shm) is writable by everyone, so anyone can plant a symbolic link or a file of
/// their own under the name an instance will use. On Linux the file is opened with O_NOFOLLOW (a
/// planted link is refused, never followed: no root-owned file elsewhere is opened or created),
/// then checked through the open descriptor, so no rename between check and use can fool it: it
/// must be a regular file owned by the effective user. Elsewhere the plain .NET open is used.
/// </summary>
internal static class OwnedFile
{
    private const int CurrentDirectory = -100; // AT_FDCWD
    private const int NoFollowLink = 0x100;
    private const int StatxType = 0x1;
    private const int StatxMode = 0x2;
    private const int StatxUid = 0x8;
    private const int StatxSize = 256;
    private const int StatxUidOffset = 20;
    private const int StatxModeOffset = 28;
    private const int FileTypeMask = 0xF000;
    private const int RegularFile = 0x8000;
    private const int OwnerReadWrite = 0x180; // 0600

    /// <summary>
    /// True where the checked open is available: Linux on the 64-bit architectures whose O_NOFOLLOW
    /// and struct flock layout are known (the byte locks of <see cref="FileLock"/> need both).
    /// </summary>
    public static bool IsChecked => OperatingSystem.IsLinux() && NoFollowFlag != 0;

    private static int NoFollowFlag => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 0x20000,
        Architecture.Arm64 => 0x8000,
        _ => 0,
    };

    /// <summary>
    /// Opens <paramref name="path"/> read-write. With <paramref name="lockExclusive"/> it also takes
    /// a non-blocking exclusive lock on byte <paramref name="lockByte"/> (an open-file-description
    /// lock: see <see cref="Interop.Libc"/>) and returns null when someone else holds it. Throws
    /// <see cref="FileNotFoundException"/> (missing), <see cref="UnauthorizedAccessException"/>
    /// (no permission, or <see cref="ForeignFileException"/>: a link, not a regular file, another owner)
    /// or <see cref="IOException"/>.
    /// </summary>
    public static FileStream? Open(string path, OwnedFileMode mode, bool lockExclusive, long lockByte = 0)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!IsChecked)
        {
            return OpenManaged(path, mode, lockExclusive);
        }

        var flags = Libc.OpenReadWrite | Libc.CloseOnExec | NoFollowFlag | mode switch
        {
            OwnedFileMode.OpenOrCreate => Libc.OpenCreate,
            OwnedFileMode.CreateNew => Libc.OpenCreate | Libc.OpenExclusive,
            _ => 0,
        };
        var fd = Libc.Open(path, flags, OwnerReadWrite);
        if (fd < 0)
        {
            throw OpenError(path, Errors.Of(fd));
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Verify(handle, path);
            var locked = lockExclusive ? Errors.Of(Libc.TryLockByte(fd, lockByte)) : Errno.None;
            if (locked != Errno.None)
            {
                handle.Dispose();
                return locked is Errno.EAGAIN or Errno.EACCES ? null : throw new IOException($"cannot lock {path}: {locked.Describe()}");
            }

            return new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a descriptor of a live process through /proc (the sealed memory of an engine, see
    /// <see cref="SegmentLocator"/>) read-write, and checks it like any segment file: this user's own
    /// regular file. Not O_NOFOLLOW: /proc/PID/fd/N is resolved by the kernel to the open object itself,
    /// and the kernel lets only that process's user (and root) open it.
    /// </summary>
    public static FileStream OpenProcessDescriptor(int pid, int descriptor)
    {
        var path = string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/fd/{descriptor}");
        var fd = Libc.Open(path, Libc.OpenReadWrite | Libc.CloseOnExec, 0);
        if (fd < 0)
        {
            throw Errors.Of(fd) == Errno.ENOENT ? new FileNotFoundException($"{path} does not exist", path) : new UnauthorizedAccessException($"access to {path} is denied");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Verify(handle, path);
            return new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static unsafe void Verify(SafeFileHandle handle, string path)
    {
        var buffer = stackalloc byte[StatxSize];
        if (Libc.Statx((int)handle.DangerousGetHandle(), string.Empty, Libc.AtEmptyPath, StatxType | StatxMode | StatxUid, buffer) is var checkedFile and < 0)
        {
            throw new IOException($"cannot check {path}: {Errors.Of(checkedFile).Describe()}");
        }

        var uid = *(uint*)(buffer + StatxUidOffset);
        var fileMode = *(ushort*)(buffer + StatxModeOffset);
        if ((fileMode & FileTypeMask) != RegularFile)
        {
            throw new ForeignFileException($"{path} is not a regular file (someone else may have planted it); {Cure(path)}");
        }

        var me = Libc.GetEffectiveUserId();
        if (uid != me)
        {
            throw new ForeignFileException(ForeignMessage(path, uid, me));
        }
    }

    private static Exception OpenError(string path, Errno errno) => errno switch
    {
        Errno.ENOENT => new FileNotFoundException($"{path} does not exist", path),
        Errno.EPERM or Errno.EACCES or Errno.ELOOP when IsLink(path) => new ForeignFileException($"{path} is a symbolic link (someone else may have planted it); Balance never follows links in the segment directory: {Cure(path)}"),
        Errno.EPERM or Errno.EACCES when OwnerOf(path) is { } uid && uid != Libc.GetEffectiveUserId() => new ForeignFileException(ForeignMessage(path, uid, Libc.GetEffectiveUserId())),
        Errno.EPERM or Errno.EACCES => new UnauthorizedAccessException($"access to {path} is denied"),
        Errno.EEXIST => new IOException($"{path} already exists"),
        _ => new IOException($"cannot open {path}: {errno.Describe()}"),
    };

    /// <summary>The owner of whatever is at <paramref name="path"/> (not following a link); null when it cannot be read.</summary>
    internal static unsafe uint? OwnerOf(string path)
    {
        if (!IsChecked)
        {
            return null;
        }

        var buffer = stackalloc byte[StatxSize];
        return Libc.Statx(CurrentDirectory, path, NoFollowLink, StatxUid, buffer) >= 0 ? *(uint*)(buffer + StatxUidOffset) : null;
    }

    private static string ForeignMessage(string path, uint uid, uint me) => string.Create(
        CultureInfo.InvariantCulture,
        $"{path} belongs to user id {uid}, not to this user (id {me}): it is that user's instance (run as that user), or a file planted under a name this instance needs; {Cure(path)}");

    /// <summary>
    /// What to do about a file that is in the way. In a sticky directory (/dev/shm) only the file's
    /// owner or root can remove it, so an ordinary user is pointed at root or at a directory of
    /// their own instead.
    /// </summary>
    internal static string Cure(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(path) ?? ".";
        const string elsewhere = "or set BALANCE_SEGMENT_DIR to a directory only you can write (mode 0700) and use it for this instance";
        return OperatingSystem.IsLinux() && IsChecked && Libc.GetEffectiveUserId() != 0 && IsSticky(directory)
            ? $"only its owner or root can remove it from {directory} (a sticky directory): ask root to delete {path}, {elsewhere}"
            : $"delete {path} if no instance of its owner uses it, {elsewhere}";
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static bool IsSticky(string directory)
    {
        try
        {
            return (File.GetUnixFileMode(directory) & UnixFileMode.StickyBit) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Only to word the error: the refusal itself came from the kernel (O_NOFOLLOW or sticky-directory rules).</summary>
    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static FileStream? OpenManaged(string path, OwnedFileMode mode, bool lockExclusive)
    {
        var options = new FileStreamOptions
        {
            Mode = mode switch
            {
                OwnedFileMode.OpenOrCreate => FileMode.OpenOrCreate,
                OwnedFileMode.CreateNew => FileMode.CreateNew,
                _ => FileMode.Open,
            },
            Access = FileAccess.ReadWrite,
            Share = lockExclusive ? FileShare.None : FileShare.ReadWrite | FileShare.Delete,
        };
        if (!OperatingSystem.IsWindows() && mode != OwnedFileMode.Existing)
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            return new FileStream(path, options);
        }
        catch (IOException) when (lockExclusive && File.Exists(path))
        {
            return null;
        }
    }
}

/// <summary>A segment-directory file that is not this user's own regular file: refused, never used.</summary>
internal sealed class ForeignFileException : UnauthorizedAccessException
{
    public ForeignFileException()
    {
    }

    public ForeignFileException(string message)
        : base(message)
    {
    }

    public ForeignFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
