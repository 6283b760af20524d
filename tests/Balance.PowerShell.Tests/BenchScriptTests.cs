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

    [Fact]
    public void The_fixed_rate_load_visits_every_target_in_turn_and_reports_each_one()
    {
        using var first = new KeepAliveResponder();
        using var second = new KeepAliveResponder();
        var closedPort = FreePort.Next();

        var (code, output, error) = Run(
            "python3", Path.Combine(RepoPaths.Root, "bench", "lib", "benchlib.py"), "latency",
            "--rate", "200", "--conns", "2", "--duration", "1", "--warmup", "0.2", "--slice", "0.25", "--lead", "0.02",
            "--target", $"first:{first.Port}:0", "--target", $"second:{second.Port}:0", "--target", $"gone:{closedPort}:0");

        Assert.True(code == 1, "a target that cannot be reached makes the run fail: " + error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["first", "second", "gone"], lines.Select(l => l.GetProperty("proxy").GetString()));
        foreach (var measured in lines.Take(2))
        {
            Assert.True(measured.GetProperty("ok").GetBoolean(), measured.ToString());
            Assert.Equal(4, measured.GetProperty("slices").GetInt32());
            Assert.Equal(1, measured.GetProperty("interleaved_with").GetInt32());
            Assert.InRange(measured.GetProperty("responses").GetInt32(), 190, 200);
            Assert.True(measured.GetProperty("slice_p99_median_ms").GetDouble() <= measured.GetProperty("max_ms").GetDouble());
        }

        Assert.False(lines[2].GetProperty("ok").GetBoolean());
        Assert.StartsWith("connect:", lines[2].GetProperty("error").GetString(), StringComparison.Ordinal);

        // warm-up, 4 lead-ins and 4 slices at 200 req/s each, on each responder
        Assert.InRange(first.Requests, 240, 270);
        Assert.InRange(second.Requests, 240, 270);
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

/// <summary>An HTTP/1.1 keep-alive server on loopback that answers every request with a short body and counts them.</summary>
internal sealed class KeepAliveResponder : IDisposable
{
    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"u8.ToArray();
    private readonly System.Net.Sockets.TcpListener listener = new(System.Net.IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private int requests;

    public KeepAliveResponder()
    {
        listener.Start();
        Port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public int Requests => Volatile.Read(ref requests);

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await listener.AcceptSocketAsync(stop.Token);
                _ = Task.Run(() => ServeAsync(socket));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(System.Net.Sockets.Socket socket)
    {
        using (socket)
        {
            var buffer = new byte[4096];
            var pending = 0;
            try
            {
                while (true)
                {
                    var n = await socket.ReceiveAsync(buffer.AsMemory(pending), stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    pending += n;
                    int end;
                    while ((end = buffer.AsSpan(0, pending).IndexOf("\r\n\r\n"u8)) >= 0)
                    {
                        Interlocked.Increment(ref requests);
                        await socket.SendAsync(Response, stop.Token);
                        var rest = pending - end - 4;
                        buffer.AsSpan(end + 4, rest).CopyTo(buffer);
                        pending = rest;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
