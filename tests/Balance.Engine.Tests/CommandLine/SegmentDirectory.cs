using System.Diagnostics;
using System.Globalization;
using Balance.Control;

namespace Balance.Tests.CommandLine;

/// <summary>
/// A private segment directory for the processes of one test. The test process itself keeps the
/// default directory; only children get <see cref="Variable"/>. Disposing kills every process
/// that was started with this directory — including detached engines, which are grandchildren —
/// and removes the directory.
/// </summary>
public sealed class SegmentDirectory : IDisposable
{
    public const string Variable = "BALANCE_SEGMENT_DIR";
    private readonly List<Process> started = [];

    public SegmentDirectory()
    {
        Path = Directory.CreateTempSubdirectory("balance-cli-").FullName;
    }

    public string Path { get; }

    /// <summary>The segment a child would use for this endpoint (computed without touching the environment).</summary>
    public SegmentName NameFor(string normalizedAddress, int port) =>
        new(normalizedAddress, port, System.IO.Path.Combine(Path, string.Create(CultureInfo.InvariantCulture, $"{SegmentName.FilePrefix}{port}.{normalizedAddress}{SegmentName.SegmentSuffix}")));

    public void Track(Process process)
    {
        lock (started)
        {
            started.Add(process);
        }
    }

    /// <summary>Pids of live processes whose environment names this directory.</summary>
    public IReadOnlyList<int> LiveProcesses()
    {
        var needle = "\0" + Variable + "=" + Path + "\0";
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var environment = File.ReadAllText(System.IO.Path.Combine(dir, "environ"));
                var state = File.ReadAllText(System.IO.Path.Combine(dir, "stat"));
                var zombie = state.LastIndexOf(')') is var close and > 0 && state.Length > close + 2 && state[close + 2] == 'Z';
                if (!zombie && ("\0" + environment + "\0").Contains(needle, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not readable: not one of ours.
            }
        }

        return found;
    }

    public void Dispose()
    {
        lock (started)
        {
            foreach (var p in started)
            {
                try
                {
                    if (!p.HasExited)
                    {
                        p.Kill(entireProcessTree: true);
                    }
                }
                catch (InvalidOperationException)
                {
                }
            }
        }

        // Detached engines are not our children, so their exit is observed through /proc.
        var deadline = Environment.TickCount64 + 10_000;
        for (var live = LiveProcesses(); live.Count > 0 && Environment.TickCount64 < deadline; live = LiveProcesses())
        {
            foreach (var pid in live)
            {
                try
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                }
            }

            Thread.Sleep(20);
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
