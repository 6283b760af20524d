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
        Assert.Contains("unknown scenario 'churn' in --scenarios (known: bulk_1,bulk_8,http_ka_c50,http_ka_c1,http_close_c50,latency_fixed,idle)", error, StringComparison.Ordinal);
        Assert.DoesNotContain("scratch directory", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_baseline_build_that_is_not_an_executable_is_refused_before_anything_starts()
    {
        var (code, _, error) = Run("bash", Path.Combine(RepoPaths.Root, "bench", "run.sh"), "--baseline-bin", Path.Combine(scratch, "missing"));

        Assert.Equal(1, code);
        Assert.Contains($"--baseline-bin '{Path.Combine(scratch, "missing")}' is not an executable file", error, StringComparison.Ordinal);
        Assert.DoesNotContain("scratch directory", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_baseline_is_a_column_of_its_own_and_user_mode_CPU_a_row_of_its_own()
    {
        var report = Report([
            """{"scenario": "http_ka_c50", "proxy": "haproxy", "rep": 1, "ok": true, "rps": 10000.0, "cpu_s_per_1m": 12.0, "user_cpu_s_per_1m": 2.0}""",
            """{"scenario": "http_ka_c50", "proxy": "balance", "rep": 1, "ok": true, "rps": 10000.0, "cpu_s_per_1m": 11.0, "user_cpu_s_per_1m": 1.0}""",
            """{"scenario": "http_ka_c50", "proxy": "baseline", "rep": 1, "ok": true, "rps": 10000.0, "cpu_s_per_1m": 12.0, "user_cpu_s_per_1m": 2.5}""",
        ]);
        Assert.Contains("| scenario / metric | balance | baseline | haproxy |", report, StringComparison.Ordinal);
        Assert.Contains("| keep-alive c=50: of which user mode (lower=better) | 1.00 (0.50x h) | 2.50 (1.25x h) | 2.00 |", report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_of_one_scenario_has_its_rows_only()
    {
        var report = Report([
            """{"scenario": "http_close_c50", "proxy": "direct", "rep": 1, "ok": true, "rps": 12000.0}""",
            """{"scenario": "http_close_c50", "proxy": "haproxy", "rep": 1, "ok": true, "rps": 10000.0, "cpu_s_per_10k": 0.8}""",
            """{"scenario": "http_close_c50", "proxy": "balance", "rep": 1, "ok": true, "rps": 11000.0, "cpu_s_per_10k": 0.88}""",
        ]);
        Assert.Contains("| new conn per request c=50: conn/s (higher=better) | 11000 (0.92x d, 1.10x h) |", report, StringComparison.Ordinal);
        Assert.Contains("| new conn per request: proxy CPU s per 10k conns (lower=better) | 0.88 (1.10x h) |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("| bulk", report, StringComparison.Ordinal);
        Assert.DoesNotContain("| idle", report, StringComparison.Ordinal);
        Assert.DoesNotContain("| keep-alive", report, StringComparison.Ordinal);
        Assert.DoesNotContain("within each rep", report, StringComparison.Ordinal); // one rep: nothing to pair
    }

    [Fact]
    public void The_report_pairs_the_ratio_to_haproxy_within_each_rep()
    {
        // Rep 2 is slow for everyone. The ratio of the two medians (9900 / 9000 = 1.10x) is rep 3's
        // alone; within the reps Balance is 1.00x, 1.05x and 1.10x haproxy.
        var report = Report([
            """{"scenario": "http_close_c50", "proxy": "haproxy", "rep": 1, "ok": true, "rps": 10000.0}""",
            """{"scenario": "http_close_c50", "proxy": "balance", "rep": 1, "ok": true, "rps": 10000.0}""",
            """{"scenario": "http_close_c50", "proxy": "haproxy", "rep": 2, "ok": true, "rps": 8000.0}""",
            """{"scenario": "http_close_c50", "proxy": "balance", "rep": 2, "ok": true, "rps": 8400.0}""",
            """{"scenario": "http_close_c50", "proxy": "haproxy", "rep": 3, "ok": true, "rps": 9000.0}""",
            """{"scenario": "http_close_c50", "proxy": "balance", "rep": 3, "ok": true, "rps": 9900.0}""",
        ]);
        Assert.Contains("| new conn per request c=50: conn/s (higher=better) | 9900 (1.10x h) | 9000 |", report, StringComparison.Ordinal);
        Assert.Contains("| new conn per request c=50: conn/s (higher=better) | 1.05x (1.00-1.10) |", report, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fixed_rate_load_interleaves_its_requests_over_every_target_and_reports_each_one()
    {
        var arrivals = new System.Collections.Concurrent.ConcurrentQueue<(string Name, long Timestamp)>();
        using var first = new KeepAliveResponder(arrivals, "first");
        using var second = new KeepAliveResponder(arrivals, "second");
        var closedPort = FreePort.Next();

        var (code, output, error) = Run(
            "python3", Path.Combine(RepoPaths.Root, "bench", "lib", "benchlib.py"), "latency",
            "--rate", "200", "--conns", "2", "--duration", "1", "--warmup", "0.2", "--window", "0.25",
            "--target", $"first:{first.Port}:0", "--target", $"second:{second.Port}:0", "--target", $"gone:{closedPort}:0");

        Assert.True(code == 1, "a target that cannot be reached makes the run fail: " + error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["first", "second", "gone"], lines.Select(l => l.GetProperty("proxy").GetString()));
        foreach (var measured in lines.Take(2))
        {
            Assert.True(measured.GetProperty("ok").GetBoolean(), measured.ToString());
            Assert.Equal(4, measured.GetProperty("windows").GetInt32());
            Assert.Equal(1, measured.GetProperty("interleaved_with").GetInt32());
            Assert.InRange(measured.GetProperty("responses").GetInt32(), 195, 200);
            Assert.True(measured.GetProperty("window_p99_median_ms").GetDouble() <= measured.GetProperty("max_ms").GetDouble());
        }

        Assert.False(lines[2].GetProperty("ok").GetBoolean());
        Assert.StartsWith("connect:", lines[2].GetProperty("error").GetString(), StringComparison.Ordinal);

        // Both at 200 req/s at once (0.2 s warm-up + 1 s): nearly every 25 ms that saw a request
        // saw requests to both. Turns of whole slices would leave most of them to one responder.
        Assert.InRange(first.Requests, 235, 245);
        Assert.InRange(second.Requests, 235, 245);
        var bins = arrivals.GroupBy(a => a.Timestamp / (System.Diagnostics.Stopwatch.Frequency / 40)).ToList();
        var shared = bins.Count(b => b.Select(a => a.Name).Distinct().Count() == 2);
        Assert.True(shared >= 0.75 * bins.Count, $"{shared} of {bins.Count} busy 25 ms spans had requests to both responders");
    }

    [Fact]
    public void The_wrk_scenarios_take_turns_over_the_targets_and_add_up_each_ones_turns()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // the harness and its stand-in wrk are POSIX shell
        }

        // A stand-in wrk on PATH: it logs where it was sent and reports 1000 requests a second.
        var bin = Directory.CreateDirectory(Path.Combine(scratch, "bin")).FullName;
        var log = Path.Combine(scratch, "wrk.log");
        var wrk = Path.Combine(bin, "wrk");
        File.WriteAllText(wrk, $$"""
            #!/bin/sh
            for a in "$@"; do last="$a"; done
            echo "$last" >> '{{log}}'
            cat <<EOF
            Running 1s test @ $last
              Latency Distribution
                 50%  500.00us
                 99%    2.00ms
              1000 requests in 1.00s, 100.00KB read
            Requests/sec:   1000.00
            EOF
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(wrk, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var (code, output, error) = RunWithPath(
            bin, "python3", Path.Combine(RepoPaths.Root, "bench", "lib", "benchlib.py"), "http", "--close",
            "--duration", "3", "--slice", "1", "--warmup", "1",
            "--target", "first:1001:0", "--target", $"second:1002:{Environment.ProcessId}");

        Assert.True(code == 0, error);
        var ports = File.ReadAllLines(log).Select(l => l.Split(':')[^1].TrimEnd('/')).ToList();
        // warm-up of each, then three rounds whose order rotates
        Assert.Equal(["1001", "1002", "1001", "1002", "1002", "1001", "1001", "1002"], ports);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["first", "second"], lines.Select(l => l.GetProperty("proxy").GetString()));
        foreach (var measured in lines)
        {
            Assert.True(measured.GetProperty("ok").GetBoolean(), measured.ToString());
            Assert.Equal(3000, measured.GetProperty("requests").GetInt32());
            Assert.Equal(1000.0, measured.GetProperty("rps").GetDouble(), 3);
            Assert.Equal(2.0, measured.GetProperty("p99_ms").GetDouble(), 3);
            Assert.Equal(3, measured.GetProperty("slices").GetInt32());
        }

        Assert.False(lines[0].TryGetProperty("proxy_cpu_s", out _), "direct (pid 0) has no proxy CPU");
        Assert.True(lines[1].GetProperty("proxy_cpu_s").GetDouble() >= 0);
        var user = lines[1].GetProperty("user_cpu_s_per_1m").GetDouble();
        Assert.InRange(user, 0, lines[1].GetProperty("cpu_s_per_1m").GetDouble()); // user mode is part of the total
    }

    /// <summary>The report of <paramref name="records"/> (one raw JSON line each), which must succeed.</summary>
    private string Report(string[] records)
    {
        var raw = Path.Combine(scratch, "raw.jsonl");
        File.WriteAllLines(raw, records);
        var (code, report, error) = Run("python3", Path.Combine(RepoPaths.Root, "bench", "lib", "benchlib.py"), "report", "--raw", raw);
        Assert.True(code == 0, error);
        return report;
    }

    private static (int Code, string Output, string Error) RunWithPath(string prependPath, string program, params string[] arguments) =>
        Run(program, arguments, prependPath);

    private static (int Code, string Output, string Error) Run(string program, params string[] arguments) =>
        Run(program, arguments, null);

    private static (int Code, string Output, string Error) Run(string program, string[] arguments, string? prependPath)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (prependPath is not null)
        {
            start.Environment["PATH"] = prependPath + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        }

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
