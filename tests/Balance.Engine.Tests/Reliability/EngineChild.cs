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

    /// <param name="inheritedDescriptors">Descriptors the engine inherits from its launcher (numbered from 10, not close-on-exec), as a careless launcher leaves them.</param>
    /// <param name="launcher">Words that run the engine (a program and its arguments, before any other prefix), or none.</param>
    public static async Task<EngineChild> StartAsync(IEnumerable<string> channels, int? openFiles = null, IEnumerable<string>? options = null, int inheritedDescriptors = 0, IEnumerable<string>? launcher = null)
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
                var prefix = new List<string>(launcher ?? []);
                if (inheritedDescriptors > 0)
                {
                    var last = (9 + inheritedDescriptors).ToString(CultureInfo.InvariantCulture);
                    prefix.AddRange(["/bin/bash", "-c", "for i in $(seq 10 " + last + "); do eval \"exec $i</dev/null\"; done; exec \"$@\"", "bash"]);
                }

                if (openFiles is { } n)
                {
                    prefix.AddRange(["/usr/bin/prlimit", string.Create(CultureInfo.InvariantCulture, $"--nofile={n}:{n}"), "--"]);
                }

                var process = Process.Start(BalanceExecutable.StartInfo(segments, args, prefix.Count > 0 ? prefix : null)) ?? throw new InvalidOperationException("no process");
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

    /// <summary>Sets the engine's soft open-files limit while it runs (the hard limit stays, so it can be raised again).</summary>
    public void SetSoftLimit(int openFiles)
    {
        var hard = File.ReadLines($"/proc/{Pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
        using var prlimit = Process.Start("/usr/bin/prlimit", ["--pid", Pid.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture, $"--nofile={openFiles}:{hard}")]);
        prlimit.WaitForExit(10_000);
        if (prlimit.ExitCode != 0)
        {
            throw new InvalidOperationException("prlimit failed");
        }
    }

    /// <summary>Sends the engine the signal <paramref name="name"/> ("TERM", "INT", "HUP") through kill(1).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, Pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit(10_000);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException("kill -" + name + " failed");
        }
    }

    /// <summary>The engine's exit code once it ends within <paramref name="timeout"/>; null when it runs on.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            return await running.WaitForExitAsync(timeout);
        }
        catch (OperationCanceledException)
        {
            return null;
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
