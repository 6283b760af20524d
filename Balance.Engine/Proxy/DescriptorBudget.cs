using System.Globalization;

namespace Balance.Proxy;

/// <summary>
/// How many sessions the process can hold without running out of descriptors, as HAProxy derives
/// its maxconn from the open-files limit. Each session costs two descriptors; the runtime keeps a
/// reserve for itself (what it holds at start plus headroom), because a runtime that cannot get a
/// descriptor fails in places no handler reaches (a thread-pool thread that cannot start ends the
/// process). Read once at start from /proc/self; unlimited where that is not available.
/// </summary>
internal static class DescriptorBudget
{
    private const int Headroom = 48;

    public static int MaxSessions()
    {
        if (!OperatingSystem.IsLinux())
        {
            return int.MaxValue;
        }

        try
        {
            var limit = OpenFilesLimit();
            if (limit is null)
            {
                return int.MaxValue;
            }

            var held = Directory.GetFiles("/proc/self/fd").Length;
            return (int)Math.Clamp((limit.Value - held - Headroom) / 2, 1, int.MaxValue);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return int.MaxValue;
        }
    }

    private static long? OpenFilesLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var soft = line["Max open files".Length..].TrimStart().Split(' ')[0];
                return soft == "unlimited" ? null : long.Parse(soft, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
