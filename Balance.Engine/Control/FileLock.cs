namespace Balance.Control;

/// <summary>
/// An exclusive lock on one byte of a small file, held by an open handle (an open-file-description
/// lock on Linux, a share mode elsewhere). The kernel drops it when the holder exits or crashes,
/// so a lock can never stay held by a dead process, and no pid has to be trusted to find out.
/// The owner file of an instance carries two: byte <see cref="OwnerByte"/>, held by the engine
/// for its whole life, and byte <see cref="ControlByte"/>, held briefly for structural changes.
/// Keeping both in the one file the engine creates at start leaves no second name another user
/// could take first.
/// </summary>
internal sealed class FileLock : IDisposable
{
    /// <summary>The byte the engine holds while it runs: the liveness proof.</summary>
    public const long OwnerByte = 0;

    /// <summary>The byte a control client holds while it makes a structural change.</summary>
    public const long ControlByte = 1;

    private readonly FileStream stream;
    private readonly string path;
    private bool deleteOnDispose;

    private FileLock(FileStream stream, string path)
    {
        this.stream = stream;
        this.path = path;
    }

    /// <summary>
    /// Tries once to take the owner byte, creating the file (mode 0600) when it is missing; null
    /// when another handle holds it. The lock file must be this user's own regular file: a link or
    /// a file planted by another user is refused (<see cref="ForeignFileException"/>).
    /// </summary>
    public static FileLock? TryAcquire(string path)
    {
        var stream = OwnedFile.Open(path, OwnedFileMode.OpenOrCreate, lockExclusive: true, OwnerByte);
        return stream is null ? null : new FileLock(stream, path);
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the owner byte; null when it stayed held.</summary>
    public static FileLock? Acquire(string path, TimeSpan timeout) =>
        Retry(() => TryAcquire(path), timeout);

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the control byte of an existing owner file (the
    /// engine created it); null when it stayed held. Throws <see cref="FileNotFoundException"/>
    /// when the file is gone (the engine stopped) and <see cref="ForeignFileException"/> for a
    /// file that is not this user's.
    /// </summary>
    public static FileLock? AcquireControl(string ownerPath, TimeSpan timeout)
    {
        if (!OwnedFile.IsChecked)
        {
            // Elsewhere a share mode locks the whole file: the control lock keeps a file of its own.
            return Acquire(ownerPath + ".ctl", timeout);
        }

        return Retry(
            () => OwnedFile.Open(ownerPath, OwnedFileMode.Existing, lockExclusive: true, ControlByte) is { } s ? new FileLock(s, ownerPath) : null,
            timeout);
    }

    /// <summary>
    /// True when some live handle holds the owner byte at this moment. On Linux the lock is only
    /// tested, never taken, so a probe can never make a starting engine believe another one runs.
    /// </summary>
    public static bool IsHeld(string path)
    {
        try
        {
            if (!OwnedFile.IsChecked)
            {
                using var probe = File.Exists(path) ? TryAcquire(path) : null;
                return File.Exists(path) && probe is null;
            }

            using var stream = OwnedFile.Open(path, OwnedFileMode.Existing, lockExclusive: false);
            return Interop.Libc.IsByteLocked((int)stream!.SafeFileHandle.DangerousGetHandle(), OwnerByte);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        catch (ForeignFileException e)
        {
            // A planted lock file proves nothing about an instance of this user's: refuse to guess.
            throw new ControlException(ControlError.PermissionDenied, $"permission denied: {e.Message}", e);
        }
        catch (IOException) when (!File.Exists(path))
        {
            // The holder unlinked the file (it does so while still holding the lock) between our
            // existence check and our lock attempt: it has stopped.
            return false;
        }
    }

    /// <summary>
    /// The owner lock of a running engine, received as a descriptor in a takeover: the same open
    /// file, so the lock it holds is now held through this handle too, and stays held when the old
    /// engine closes its own.
    /// </summary>
    public static FileLock Adopt(int descriptor, string path) =>
        new(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(descriptor, ownsHandle: true), FileAccess.ReadWrite, bufferSize: 0), path);

    /// <summary>The descriptor holding the lock, to pass on in a takeover.</summary>
    public int Descriptor => (int)stream.SafeFileHandle.DangerousGetHandle();

    /// <summary>Removes the file when the lock is released (the owner lock of a cleanly stopped engine).</summary>
    public void DeleteOnDispose() => deleteOnDispose = true;

    public void Dispose()
    {
        if (deleteOnDispose)
        {
            // Unlink while still holding the lock, so nobody can take a lock on a file that is about to vanish.
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        stream.Dispose();
    }

    private static FileLock? Retry(Func<FileLock?> attempt, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var delay = 1;
        while (true)
        {
            var l = attempt();
            if (l is not null || Environment.TickCount64 >= deadline)
            {
                return l;
            }

            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 20);
        }
    }
}
