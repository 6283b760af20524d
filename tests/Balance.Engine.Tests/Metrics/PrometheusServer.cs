using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Metrics;

/// <summary>
/// A real Prometheus server for one test: its own temporary config and storage folder, a free
/// port on 127.0.0.1, scraping one target every second; killed (and its folder removed) on dispose.
/// </summary>
public sealed class PrometheusServer : IDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(30);
    private readonly Process process;
    private readonly DirectoryInfo folder;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private PrometheusServer(Process process, DirectoryInfo folder, int port)
    {
        this.process = process;
        this.folder = folder;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts Prometheus scraping <paramref name="target"/> (host:port) and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string target)
    {
        var binary = ExternalTool.Require("prometheus");
        var folder = Directory.CreateTempSubdirectory("balance-prometheus-");
        var config = Path.Combine(folder.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: balance
                static_configs:
                  - targets: ["{target}"]

            """);
        var port = FreePort.Next();
        var start = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
        {
            "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(folder.FullName, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), "--storage.tsdb.retention.time=1h",
        })
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, folder, port);
        if (!await Eventually.HoldsAsync(server.IsReadyAsync, StartBound))
        {
            server.Dispose();
            throw new TimeoutException($"prometheus on 127.0.0.1:{port} was not ready after {StartBound.TotalSeconds} s");
        }

        return server;
    }

    /// <summary>An instant query through the HTTP API: each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string query)
    {
        var url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/api/v1/query?query={Uri.EscapeDataString(query)}");
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(url)));
        var result = new List<(IReadOnlyDictionary<string, string>, double)>();
        foreach (var series in document.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty);
            var value = double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            result.Add((labels, value));
        }

        return result;
    }

    /// <summary>The scrape targets' state as the API reports it (last error, health), for failure messages.</summary>
    public Task<string> TargetsAsync() =>
        http.GetStringAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/api/v1/targets")));

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
        http.Dispose();
        try
        {
            folder.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<bool> IsReadyAsync()
    {
        if (process.HasExited)
        {
            throw new InvalidOperationException($"prometheus exited with {process.ExitCode} before it was ready");
        }

        try
        {
            using var response = await http.GetAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/-/ready")));
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
