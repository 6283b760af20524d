using Balance.Interop;

namespace Balance.CommandLine;

/// <summary>What detaching needs and .NET does not expose, over the POSIX calls in <see cref="Libc"/>.</summary>
internal static class NativeMethods
{
    /// <summary>Leaves the terminal's session and process group; false if the platform cannot.</summary>
    public static bool CreateSession()
    {
        return (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && Libc.SetSid() >= 0;
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
        var devNull = Libc.Open("/dev/null", Libc.OpenReadWrite, 0);
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

            var result = Libc.Dup2(devNull, fd);
            ok &= result >= 0;
        }

        if (devNull > 2)
        {
            _ = Libc.Close(devNull);
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
}
