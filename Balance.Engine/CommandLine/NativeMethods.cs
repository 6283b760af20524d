using System.Runtime.InteropServices;

namespace Balance.CommandLine;

/// <summary>
/// The few POSIX calls detaching needs and .NET does not expose. Linux names its C library
/// libc.so.6 (plain "libc" is a linker script there); macOS keeps it in libSystem.
/// </summary>
internal static partial class NativeMethods
{
    private const int OpenReadWrite = 2; // O_RDWR, the same value on Linux and macOS

    /// <summary>Leaves the terminal's session and process group; false if the platform cannot.</summary>
    public static bool CreateSession()
    {
        if (OperatingSystem.IsLinux())
        {
            return Linux.SetSid() >= 0;
        }

        if (OperatingSystem.IsMacOS())
        {
            return MacOS.SetSid() >= 0;
        }

        return false;
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
        var devNull = OperatingSystem.IsLinux() ? Linux.Open("/dev/null", OpenReadWrite) : MacOS.Open("/dev/null", OpenReadWrite);
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

            var result = OperatingSystem.IsLinux() ? Linux.Dup2(devNull, fd) : MacOS.Dup2(devNull, fd);
            ok &= result >= 0;
        }

        if (devNull > 2)
        {
            _ = OperatingSystem.IsLinux() ? Linux.Close(devNull) : MacOS.Close(devNull);
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

    private static partial class Linux
    {
        private const string Library = "libc.so.6";

        [LibraryImport(Library, EntryPoint = "setsid", SetLastError = true)]
        internal static partial int SetSid();

        [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);

        [LibraryImport(Library, EntryPoint = "dup2", SetLastError = true)]
        internal static partial int Dup2(int oldFd, int newFd);

        [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }

    private static partial class MacOS
    {
        private const string Library = "libSystem.dylib";

        [LibraryImport(Library, EntryPoint = "setsid", SetLastError = true)]
        internal static partial int SetSid();

        [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);

        [LibraryImport(Library, EntryPoint = "dup2", SetLastError = true)]
        internal static partial int Dup2(int oldFd, int newFd);

        [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}
