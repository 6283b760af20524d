using System.Diagnostics;
using System.Text;

namespace Balance.Tests.Metrics;

/// <summary>
/// The real programs users monitor Balance with (Debian's prometheus and chromium packages).
/// A missing one fails the test with the install line: CI (.ci/run) installs them, so a test
/// that needs one never passes without running it.
/// </summary>
public static class ExternalTool
{
    public static string Require(string name)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        var ci = Environment.GetEnvironmentVariable("CI") == "true" ? " (CI: .ci/run should have installed it)" : string.Empty;
        throw new InvalidOperationException($"{name} is not on PATH{ci}: install it with apt-get install -y prometheus chromium");
    }

    /// <summary>Runs a tool to completion within <paramref name="timeout"/> (killed after it).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string name, IEnumerable<string> args, TimeSpan timeout, string? input = null)
    {
        var start = new ProcessStartInfo(Require(name))
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{name} {string.Join(' ', args)} did not finish in {timeout.TotalSeconds} s");
        }

        return (process.ExitCode, await output, await error);
    }
}
