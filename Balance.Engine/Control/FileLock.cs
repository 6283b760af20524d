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

    /// <summary>Tries once; null when another handle holds the lock.</summary>
    public static FileLock? TryAcquire(string path)
    {
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                Options = FileOptions.None,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            return new FileLock(new FileStream(path, options), path);
        }
        catch (UnauthorizedAccessException)
        {
            throw;
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
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
