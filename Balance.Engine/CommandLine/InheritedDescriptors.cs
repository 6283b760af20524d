using System.Globalization;
using Balance.Interop;

namespace Balance.CommandLine;

/// <summary>
/// Descriptors a detached engine must not keep: whatever its caller left open without
/// close-on-exec (a shell's <c>exec 7&gt;&amp;1</c>, a supervisor's files). Held by the engine,
/// a caller's pipe never reaches end of file (<c>out=$(balance ...)</c> never returned) and each
/// one counts against the open-files limit. .NET cannot run code between fork and exec, and its
/// own descriptors are open before <c>Main</c>, so a plain <c>close_range(3, ~0)</c> is not
/// possible: the launcher marks every descriptor above 2 close-on-exec before it starts the
/// background copy (<c>close_range</c> with CLOSE_RANGE_CLOEXEC, else one <c>fcntl</c> each), and
/// the background copy closes any it still finds inherited (open without close-on-exec: the
/// runtime opens all of its own with it).
/// </summary>
internal static class InheritedDescriptors
{
    private const string Table = "/proc/self/fd";
    private const int FallbackHighest = 65536;

    /// <summary>Marks every descriptor above 2 close-on-exec, so no program this one starts inherits it.</summary>
    public static void KeepFromChildren()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        if (Libc.CloseRange(3, uint.MaxValue, Libc.CloseRangeCloseOnExec) >= 0)
        {
            return;
        }

        foreach (var fd in OpenAbove2())
        {
            _ = Libc.Fcntl(fd, Libc.SetDescriptorFlags, Libc.DescriptorCloseOnExec);
        }
    }

    /// <summary>Closes every descriptor above 2 that is open without close-on-exec; returns how many.</summary>
    public static int CloseInherited()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var closed = 0;
        foreach (var fd in OpenAbove2())
        {
            var flags = Libc.Fcntl(fd, Libc.GetDescriptorFlags, 0);
            if (flags >= 0 && (flags & Libc.DescriptorCloseOnExec) == 0 && Libc.Close(fd) == 0)
            {
                closed++;
            }
        }

        return closed;
    }

    /// <summary>The open descriptors above 2 from /proc; without /proc every number up to the limit (at most 65,536).</summary>
    private static List<int> OpenAbove2()
    {
        var found = new List<int>();
        try
        {
            foreach (var entry in Directory.GetFileSystemEntries(Table))
            {
                if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var fd) && fd > 2)
                {
                    found.Add(fd);
                }
            }

            return found;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var highest = Libc.GetRLimit(Libc.RlimitNoFile, out var limit) < 0 ? FallbackHighest : (int)Math.Min(limit.Current, FallbackHighest);
            for (var fd = 3; fd < highest; fd++)
            {
                found.Add(fd);
            }

            return found;
        }
    }
}
