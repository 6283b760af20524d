using System.Diagnostics;
using System.Globalization;

namespace Balance.Control;

/// <summary>
/// A process id plus the process's start time. A pid alone can be reused by an unrelated process
/// after the owner dies (the original then signalled whatever process had the pid); the pair cannot.
/// </summary>
internal readonly record struct ProcessIdentity(int Pid, long StartTicks)
{
    public static ProcessIdentity Current { get; } = Of(Environment.ProcessId) ?? new ProcessIdentity(Environment.ProcessId, 0);

    /// <summary>Reads the identity of a live process, or null if no such process exists.</summary>
    public static ProcessIdentity? Of(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }

        if (OperatingSystem.IsLinux())
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");

                // The command name (field 2) may contain spaces and ')', so count fields after the last ')'.
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');

                // fields[0] is field 3 (state); starttime is field 22.
                return new ProcessIdentity(pid, long.Parse(fields[19], CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return null;
            }
        }

        try
        {
            using var p = Process.GetProcessById(pid);
            return new ProcessIdentity(pid, p.StartTime.ToUniversalTime().Ticks);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>True when this exact process (same pid and same start) is still alive.</summary>
    public bool IsAlive => Of(Pid) is { } now && now.StartTicks == StartTicks;
}
