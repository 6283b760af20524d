using System.Runtime.InteropServices;

namespace Balance.CommandLine;

/// <summary>
/// The few POSIX calls detaching needs and .NET does not expose. "libc" is resolved by the runtime
/// to the C library on Linux and macOS alike (as for the rlimit calls in DescriptorLimit).
/// </summary>
internal static partial class NativeMethods
{
    private const int OpenReadWrite = 2; // O_RDWR, the same value on Linux and macOS

    /// <summary>Leaves the terminal's session and process group; false if the platform cannot.</summary>
    public static bool CreateSession()
    {
        return (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && SetSid() >= 0;
    }

    /// <summary>
    /// Points descriptors 0, 1 and 2 at /dev/null, so nothing written by any part of the process
    /// (runtime, native code, stray Console use) can land in a socket or an abandoned pipe. The
    /// runtime keeps private duplicates of the three at start-up; on Linux those are found through
    /// /proc and redirected too, otherwise the launcher's pipes would stay open.
    /// </summary>
    public static bool RedirectStandardStreamsToNull()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return false;
        }

        var duplicates = OperatingSystem.IsLinux() ? DuplicatesOfStandardStreams() : [];
        var devNull = Open("/dev/null", OpenReadWrite);
        if (devNull < 0)
        {
            return false;
        }

        var ok = true;
        foreach (var fd in duplicates.Prepend(2).Prepend(1).Prepend(0))
        {
            if (fd == devNull)
            {
                continue;
            }

            var result = Dup2(devNull, fd);
            ok &= result >= 0;
        }

        if (devNull > 2)
        {
            _ = Close(devNull);
        }

        return ok;
    }

    /// <summary>Descriptors above 2 that refer to the same pipe or socket as descriptor 0, 1 or 2.</summary>
    private static List<int> DuplicatesOfStandardStreams()
    {
        const string Table = "/proc/self/fd";
        var found = new List<int>();
        try
        {
            var targets = new HashSet<string>(StringComparer.Ordinal);
            for (var fd = 0; fd <= 2; fd++)
            {
                if (LinkTarget(Table, fd) is { } target && (target.StartsWith("pipe:", StringComparison.Ordinal) || target.StartsWith("socket:", StringComparison.Ordinal)))
                {
                    targets.Add(target);
                }
            }

            foreach (var entry in Directory.GetFileSystemEntries(Table))
            {
                if (int.TryParse(Path.GetFileName(entry), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var fd)
                    && fd > 2 && LinkTarget(Table, fd) is { } target && targets.Contains(target))
                {
                    found.Add(fd);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without /proc only 0-2 can be redirected.
        }

        return found;
    }

    private static string? LinkTarget(string table, int fd)
    {
        try
        {
            return new FileInfo(Path.Combine(table, fd.ToString(System.Globalization.CultureInfo.InvariantCulture))).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // Closed meanwhile (the enumeration's own descriptor, for one).
        }
    }

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
