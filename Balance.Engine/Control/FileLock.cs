namespace Balance.Control;

/// <summary>
/// An exclusive lock on a small file, held by an open handle (flock on Unix, share mode on Windows).
/// The kernel drops it when the holder exits or crashes, so a lock can never stay held by a dead
/// process, and no pid has to be trusted to find out.
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly FileStream stream;
    private readonly string path;
    private bool deleteOnDispose;

    private FileLock(FileStream stream, string path)
    {
        this.stream = stream;
        this.path = path;
    }

    /// <summary>
    /// Tries once; null when another handle holds the lock. The lock file must be this user's own
    /// regular file: a link or a file planted by another user is refused (<see cref="ForeignFileException"/>).
    /// </summary>
    public static FileLock? TryAcquire(string path)
    {
        var stream = OwnedFile.Open(path, OwnedFileMode.OpenOrCreate, lockExclusive: true);
        return stream is null ? null : new FileLock(stream, path);
    }

    /// <summary>Waits up to <paramref name="timeout"/>; null when the lock stayed held.</summary>
    public static FileLock? Acquire(string path, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var delay = 1;
        while (true)
        {
            var l = TryAcquire(path);
            if (l is not null || Environment.TickCount64 >= deadline)
            {
                return l;
            }

            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 20);
        }
    }

    /// <summary>True when some live handle holds the lock at this moment.</summary>
    public static bool IsHeld(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var probe = TryAcquire(path);
            return probe is null;
        }
        catch (ForeignFileException e)
        {
            // A planted lock file proves nothing about an instance of this user's: refuse to guess.
            throw new ControlException(ControlError.PermissionDenied, $"permission denied: {e.Message}", e);
        }
        catch (IOException) when (!File.Exists(path))
        {
            // The holder unlinked the file (it does so while still holding the lock) between our
            // open and our lock attempt: it has stopped.
            return false;
        }
    }

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
}
