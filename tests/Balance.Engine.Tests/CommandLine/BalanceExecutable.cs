using System.Diagnostics;
using System.Text;

namespace Balance.Tests.CommandLine;

/// <summary>What a finished run of the executable left behind.</summary>
public sealed record ProcessResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>
/// The real <c>balance</c> apphost: the project reference copies it next to the test assembly,
/// so the process tests need no separate publish step.
/// </summary>
public static class BalanceExecutable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(40);

    /// <summary>
    /// The executable under test: <c>BALANCE_TEST_EXECUTABLE</c> when set (CI points it at the
    /// native published build), else the apphost the project reference copied here.
    /// </summary>
    public static string Path { get; } = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } chosen
        ? System.IO.Path.GetFullPath(chosen)
        : System.IO.Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "balance.exe" : "balance");

    public const string Variable = "BALANCE_TEST_EXECUTABLE";

    /// <summary>Start info for one run, with the segment directory set for the child only.</summary>
    public static ProcessStartInfo StartInfo(SegmentDirectory segments, IEnumerable<string> args, IEnumerable<string>? runAs = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var prefix = runAs?.ToArray() ?? [];
        var start = new ProcessStartInfo(prefix.Length > 0 ? prefix[0] : Path)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var word in prefix.Skip(1))
        {
            start.ArgumentList.Add(word);
        }

        if (prefix.Length > 0)
        {
            start.ArgumentList.Add(Path);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[SegmentDirectory.Variable] = segments.Path;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return start;
    }

    /// <summary>Runs to completion (killed at the timeout) and returns exit code and output.</summary>
    public static async Task<ProcessResult> RunAsync(SegmentDirectory segments, IEnumerable<string> args, string? input = null, IEnumerable<string>? runAs = null, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Process.Start(StartInfo(segments, args, runAs, environment)) ?? throw new InvalidOperationException("no process");
        segments.Track(process);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"balance {string.Join(' ', args)} did not finish in time\n{await output}\n{await error}");
        }

        return new ProcessResult(process.ExitCode, await output, await error);
    }

    /// <summary>A process that keeps running (a foreground engine); its output is collected as it comes.</summary>
    public static RunningProcess Start(SegmentDirectory segments, IEnumerable<string> args)
    {
        var process = Process.Start(StartInfo(segments, args)) ?? throw new InvalidOperationException("no process");
        segments.Track(process);
        return new RunningProcess(process);
    }
}

/// <summary>A started process whose stdout/stderr are collected in the background.</summary>
public sealed class RunningProcess : IDisposable
{
    private readonly StringBuilder output = new();
    private readonly StringBuilder error = new();
    private readonly Task pumps;

    public RunningProcess(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        Process = process;
        process.StandardInput.Close();
        pumps = Task.WhenAll(Pump(process.StandardOutput, output), Pump(process.StandardError, error));
    }

    public Process Process { get; }

    public string Error
    {
        get
        {
            lock (error)
            {
                return error.ToString();
            }
        }
    }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(cancel.Token);
        await pumps.WaitAsync(timeout);
        return Process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
    }

    private static async Task Pump(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            lock (into)
            {
                into.Append(buffer, 0, n);
            }
        }
    }
}
