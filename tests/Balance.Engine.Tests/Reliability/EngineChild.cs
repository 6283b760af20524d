using System.Diagnostics;
using System.Globalization;
using Balance.Control;
using Balance.Tests.CommandLine;

namespace Balance.Tests.Reliability;

/// <summary>
/// A foreground engine (<c>balance -f -d</c>) in a child process, optionally under a chosen
/// open-files limit (through prlimit), so a test can exhaust or measure the engine's descriptors
/// and memory without touching its own. Dispose kills it (by pid) and removes its segment directory.
/// </summary>
internal sealed class EngineChild : IDisposable
{
    private readonly SegmentDirectory segments;
    private readonly RunningProcess running;

    private EngineChild(RunningProcess running, int port, SegmentDirectory segments)
    {
        this.running = running;
        this.segments = segments;
        Port = port;
    }

    public int Port { get; }

    public int Pid => running.Process.Id;

    /// <summary>The engine's control segment.</summary>
    public SegmentName Name => segments.NameFor("127.0.0.1", Port);

    public bool HasExited => running.Process.HasExited;

    /// <summary>What the engine wrote to stderr so far (-d: debug lines and notices).</summary>
    public string Error => running.Error;

    /// <summary>True where prlimit can set a child's limits (root may also raise the hard limit).</summary>
    public static bool CanLimit => OperatingSystem.IsLinux() && File.Exists("/usr/bin/prlimit");

    public static async Task<EngineChild> StartAsync(IEnumerable<string> channels, int? openFiles = null, IEnumerable<string>? options = null)
    {
        var segments = new SegmentDirectory();
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var port = Loopback.FreePort();
                var args = new List<string> { "-f", "-d", "-b", "127.0.0.1" };
                args.AddRange(options ?? []);
                args.Add(port.ToString(CultureInfo.InvariantCulture));
                args.AddRange(channels);
                string[]? prefix = openFiles is { } n
                    ? ["/usr/bin/prlimit", string.Create(CultureInfo.InvariantCulture, $"--nofile={n}:{n}"), "--"]
                    : null;
                var process = Process.Start(BalanceExecutable.StartInfo(segments, args, prefix)) ?? throw new InvalidOperationException("no process");
                segments.Track(process);
                var running = new RunningProcess(process);
                var name = segments.NameFor("127.0.0.1", port);
                if (await Loopback.EventuallyAsync(() => process.HasExited || (File.Exists(name.Path) && Accepts(port)), TimeSpan.FromSeconds(30)) && !process.HasExited)
                {
                    return new EngineChild(running, port, segments);
                }

                var error = running.Error;
                running.Dispose();
                if (attempt >= 3 || !error.Contains("in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException("the engine did not start: " + error);
                }
            }
        }
        catch
        {
            segments.Dispose();
            throw;
        }
    }

    /// <summary>True when something accepts a TCP connection on 127.0.0.1:<paramref name="port"/>.</summary>
    public static bool Accepts(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            client.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Open descriptors of the engine process right now.</summary>
    public int OpenDescriptors() => Directory.GetFiles($"/proc/{Pid}/fd").Length;

    /// <summary>What each open descriptor of the engine is ("socket:[123]", "pipe:[45]", a path), for a failure message.</summary>
    public IReadOnlyList<string> DescriptorTargets()
    {
        var targets = new List<string>();
        foreach (var fd in Directory.GetFiles($"/proc/{Pid}/fd"))
        {
            try
            {
                targets.Add(Path.GetFileName(fd) + "->" + (new FileInfo(fd).LinkTarget ?? "?"));
            }
            catch (IOException)
            {
                // closed between the listing and the read
            }
        }

        return targets;
    }

    /// <summary>Resident memory of the engine process in KiB.</summary>
    public long ResidentKiB()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Runs <c>balance -c</c> against this engine.</summary>
    public Task<ProcessResult> ControlAsync(string command) =>
        BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", command, Port.ToString(CultureInfo.InvariantCulture)]);

    public void Dispose()
    {
        running.Dispose();
        segments.Dispose();
    }
}
