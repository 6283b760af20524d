using System.Diagnostics;

namespace BalancePowerShellTests;

/// <summary>
/// The benchmark harness's own contract, without running a benchmark: a wrong scenario name is
/// refused before anything is installed or started, and a run of some scenarios reports only
/// their rows, with the ratios to direct and to haproxy.
/// </summary>
public sealed class BenchScriptTests : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("balance-bench-test-").FullName;

    public void Dispose() => Directory.Delete(scratch, recursive: true);

    [Fact]
    public void An_unknown_scenario_is_refused_with_the_known_names_before_anything_starts()
    {
        var (code, _, error) = Run("bash", Path.Combine(RepoPaths.Root, "bench", "run.sh"), "--scenarios", "http_close_c50,churn");

        Assert.Equal(1, code);
        Assert.Contains("unknown scenario 'churn' in --scenarios (known: bulk_1,bulk_8,http_ka_c50,http_close_c50,latency_fixed,idle)", error, StringComparison.Ordinal);
        Assert.DoesNotContain("scratch directory", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_of_one_scenario_has_its_rows_only()
    {
        var raw = Path.Combine(scratch, "raw.jsonl");
        File.WriteAllLines(raw, [
            """{"scenario": "http_close_c50", "proxy": "direct", "rep": 1, "ok": true, "rps": 12000.0}""",
            """{"scenario": "http_close_c50", "proxy": "haproxy", "rep": 1, "ok": true, "rps": 10000.0, "cpu_s_per_10k": 0.8}""",
            """{"scenario": "http_close_c50", "proxy": "balance", "rep": 1, "ok": true, "rps": 11000.0, "cpu_s_per_10k": 0.88}""",
        ]);

        var (code, report, error) = Run("python3", Path.Combine(RepoPaths.Root, "bench", "lib", "benchlib.py"), "report", "--raw", raw);

        Assert.True(code == 0, error);
        Assert.Contains("| new conn per request c=50: conn/s (higher=better) | 11000 (0.92x d, 1.10x h) |", report, StringComparison.Ordinal);
        Assert.Contains("| new conn per request: proxy CPU s per 10k conns (lower=better) | 0.88 (1.10x h) |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("| bulk", report, StringComparison.Ordinal);
        Assert.DoesNotContain("| idle", report, StringComparison.Ordinal);
        Assert.DoesNotContain("| keep-alive", report, StringComparison.Ordinal);
    }

    private static (int Code, string Output, string Error) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not end within 60 s");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
