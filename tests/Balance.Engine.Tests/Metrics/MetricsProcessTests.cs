using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Balance.Tests.CommandLine;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Metrics;

/// <summary>
/// The balance executable with <c>--metrics</c>, watched the way users watch it: a real Prometheus
/// server scraping it under load, promtool on its textfile, headless Chromium on its status page.
/// (The name ends in ProcessTests, so build.ps1 runs these once more against the native build.)
/// </summary>
public sealed class MetricsProcessTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly SegmentDirectory segments = new();
    private readonly TestBackend backendA = TestBackend.Start("A");
    private readonly TestBackend backendB = TestBackend.Start("B");

    public void Dispose()
    {
        segments.Dispose();
        backendA.Dispose();
        backendB.Dispose();
    }

    [Fact]
    public async Task Prometheus_scraping_an_instance_under_load_returns_the_counters_show_reports()
    {
        var (port, metricsPort, balance) = await StartForegroundAsync();
        using (balance)
        using (var prometheus = await PrometheusServer.StartAsync("127.0.0.1:" + Text(metricsPort)))
        {
            var up = await Eventually.HoldsAsync(async () => await Single(prometheus, "up{job=\"balance\"}") == 1, Wait);
            Assert.True(up, "Prometheus did not scrape the endpoint successfully: " + await prometheus.TargetsAsync());

            // Load while Prometheus scrapes every second: 4 clients, each connection greeted, echoed and closed.
            var stop = DateTime.UtcNow + TimeSpan.FromSeconds(4);
            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => LoadAsync(port, stop)));
            Assert.True(await Single(prometheus, "max_over_time(balance_channel_connections_total{group=\"0\",channel=\"0\"}[1m])") > 0, "no scrape landed while the load ran");

            var show = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "show", Text(port)]);
            Assert.True(show.ExitCode == 0, show.ToString());
            var rows = ShowRows(show.Output);
            Assert.True(rows.Count == 2 && rows.All(r => r.Total > 10), show.Output);

            // Prometheus holds what show says once a scrape after the load has landed.
            foreach (var row in rows)
            {
                var selector = $"{{group=\"{row.Group}\",channel=\"{row.Index}\"}}";
                var matched = await Eventually.HoldsAsync(
                    async () =>
                        await Single(prometheus, "balance_channel_connections_total" + selector) == row.Total
                        && await Single(prometheus, "balance_channel_sent_bytes_total" + selector) == row.Sent
                        && await Single(prometheus, "balance_channel_received_bytes_total" + selector) == row.Received
                        && await Single(prometheus, "balance_channel_connections" + selector) == row.Live,
                    Wait);
                Assert.True(matched, $"Prometheus never returned show's figures for {selector}: total {await Single(prometheus, "balance_channel_connections_total" + selector)} sent {await Single(prometheus, "balance_channel_sent_bytes_total" + selector)}\n{show.Output}");
            }

            var accepted = await Single(prometheus, "balance_accepted_connections_total");
            Assert.Equal(rows.Sum(r => r.Total), accepted);
            Assert.True(await Single(prometheus, "rate(balance_channel_connections_total{group=\"0\",channel=\"0\"}[10s])") >= 0);
        }
    }

    [Fact]
    public async Task Status_page_in_headless_Chromium_shows_the_channels_and_their_states()
    {
        var (port, metricsPort, balance) = await StartForegroundAsync("!", backendA.Channel, "%");
        using (balance)
        {
            for (var i = 0; i < 6; i++)
            {
                Assert.NotNull(await Loopback.GreetingAsync(port, Wait));
            }

            var disable = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "disable 1", Text(port)]);
            Assert.True(disable.ExitCode == 0, disable.ToString());
            await Task.Delay(1000); // one render interval and more

            var url = $"http://127.0.0.1:{Text(metricsPort)}/";
            var dom = await HeadlessChromium.DumpDomAsync(url);
            Assert.Contains("<h1>Balance on 127.0.0.1:" + Text(port) + "</h1>", dom, StringComparison.Ordinal);
            Assert.Contains($"<td>{backendA.Channel}</td><td class=\"admin enabled\">enabled</td><td class=\"health unknown\">unknown</td>", dom, StringComparison.Ordinal);
            Assert.Contains($"<td>{backendB.Channel}</td><td class=\"admin disabled\">disabled</td><td class=\"health unknown\">unknown</td>", dom, StringComparison.Ordinal);
            Assert.Contains("<h2>Group 0 <span class=\"policy\">RoundRobin</span>", dom, StringComparison.Ordinal);
            Assert.Contains("<h2>Group 1 <span class=\"policy\">Hash</span>", dom, StringComparison.Ordinal);

            // The rate cells are filled by the page's script from the previous load (none yet): it ran.
            Assert.Contains("<td class=\"rate sent\">–</td>", dom, StringComparison.Ordinal);

            var shot = Path.Combine(segments.Path, "status-page.png");
            await HeadlessChromium.ScreenshotAsync(url, shot, 900, 400);
            var png = await File.ReadAllBytesAsync(shot);
            Assert.True(png.Length > 1000 && png.AsSpan(1, 3).SequenceEqual("PNG"u8), "not a PNG");

            // BALANCE_UPDATE_SCREENSHOT=<folder> keeps it (docs/monitoring.md shows the one made so).
            if (Environment.GetEnvironmentVariable("BALANCE_UPDATE_SCREENSHOT") is { Length: > 0 } keep)
            {
                File.Copy(shot, Path.Combine(keep, "status-page.png"), overwrite: true);
            }
        }
    }

    [Fact]
    public async Task Metrics_file_is_written_atomically_and_promtool_accepts_it()
    {
        var (port, _, balance) = await StartForegroundAsync();
        using (balance)
        {
            Assert.NotNull(await Loopback.GreetingAsync(port, Wait));
            var folder = Path.Combine(segments.Path, "textfile");
            Directory.CreateDirectory(folder);
            var file = Path.Combine(folder, "balance.prom");
            var export = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "--metrics-file", file, Text(port)]);
            Assert.True(export.ExitCode == 0, export.ToString());
            Assert.Equal([file], Directory.GetFiles(folder));
            var text = await File.ReadAllTextAsync(file);
            Assert.Contains($"balance_channel_connections_total{{endpoint=\"127.0.0.1:{Text(port)}\",group=\"0\",channel=\"0\",destination=\"{backendA.Channel}\"}} 1", text, StringComparison.Ordinal);
            var check = await ExternalTool.RunAsync("promtool", ["check", "metrics"], TimeSpan.FromSeconds(30), text);
            Assert.True(check.ExitCode == 0, $"promtool: {check.Output}{check.Error}");

            var missing = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "--metrics-file", Path.Combine(folder, "no", "such.prom"), Text(port)]);
            Assert.Equal(73, missing.ExitCode);
            Assert.Contains("cannot write", missing.Error, StringComparison.Ordinal);
            Assert.Equal([file], Directory.GetFiles(folder));
        }
    }

    [Fact]
    public async Task Metrics_options_are_checked_before_anything_starts()
    {
        var port = Text(Loopback.FreePort());
        var bad = await BalanceExecutable.RunAsync(segments, ["-f", "--metrics", "localhost", port, backendA.Channel]);
        Assert.Equal(64, bad.ExitCode);
        Assert.Contains("invalid metrics endpoint [localhost]: give address:port", bad.Error, StringComparison.Ordinal);

        var same = await BalanceExecutable.RunAsync(segments, ["-f", "-b", "127.0.0.1", "--metrics=127.0.0.1:" + port, port, backendA.Channel]);
        Assert.Equal(64, same.ExitCode);
        Assert.Contains("must not use the proxied port", same.Error, StringComparison.Ordinal);

        var shell = await BalanceExecutable.RunAsync(segments, ["--metrics", "127.0.0.1:9", "-c", "show", port]);
        Assert.Equal(64, shell.ExitCode);
        Assert.Contains("option --metrics serves a proxy you start", shell.Error, StringComparison.Ordinal);

        var noValue = await BalanceExecutable.RunAsync(segments, ["--metrics"]);
        Assert.Equal(64, noValue.ExitCode);
        Assert.Contains("option --metrics needs a value", noValue.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detached_instance_serves_its_endpoint_and_a_taken_metrics_port_fails_the_start()
    {
        var port = Loopback.FreePort();
        var metricsPort = Loopback.FreePort();
        var started = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "--metrics", "127.0.0.1:" + Text(metricsPort), Text(port), backendA.Channel]);
        Assert.True(started.ExitCode == 0, started.ToString());
        using var http = new System.Net.Http.HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Contains("balance_build_info", await http.GetStringAsync(new Uri($"http://127.0.0.1:{Text(metricsPort)}/metrics")), StringComparison.Ordinal);

        var second = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "--metrics", "127.0.0.1:" + Text(metricsPort), Text(Loopback.FreePort()), backendA.Channel]);
        Assert.Equal(71, second.ExitCode);
        Assert.Contains($"cannot serve metrics on 127.0.0.1:{Text(metricsPort)}", second.Error, StringComparison.Ordinal);

        var kill = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", Text(port)]);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        Assert.True(await Loopback.EventuallyAsync(() => !Listening(metricsPort), Wait), "the endpoint outlived the instance");
    }

    private async Task<(int Port, int MetricsPort, RunningProcess Balance)> StartForegroundAsync(params string[] moreChannels)
    {
        var port = Loopback.FreePort();
        var metricsPort = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        var balance = BalanceExecutable.Start(segments, ["-f", "-b", "127.0.0.1", "--metrics", "127.0.0.1:" + Text(metricsPort), Text(port), backendA.Channel, backendB.Channel, .. moreChannels]);
        Assert.True(await Loopback.EventuallyAsync(() => balance.Process.HasExited || (File.Exists(name.Path) && Listening(metricsPort)), Wait), "no segment or endpoint appeared: " + balance.Error);
        Assert.False(balance.Process.HasExited, balance.Error);
        return (port, metricsPort, balance);
    }

    private static async Task LoadAsync(int port, DateTime until)
    {
        var payload = Encoding.ASCII.GetBytes("ping\n");
        var buffer = new byte[64];
        while (DateTime.UtcNow < until)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync(payload);
            var got = 0;
            while (got < 2 + payload.Length)
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    break;
                }

                got += n;
            }
        }
    }

    private static bool Listening(int port)
    {
        try
        {
            using var probe = new TcpClient();
            probe.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<double> Single(PrometheusServer prometheus, string query)
    {
        var result = await prometheus.QueryAsync(query);
        return result.Count == 1 ? result[0].Value : double.NaN;
    }

    private sealed record ShowRow(int Group, int Index, long Live, long Total, long Sent, long Received);

    /// <summary>show's rows: GRP Type # S ip-address port c totalc maxc sent rcvd.</summary>
    private static List<ShowRow> ShowRows(string show) =>
        show.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => new ShowRow(Int(f[0]), Int(f[2]), Int(f[6]), Int(f[7]), Int(f[9]), Int(f[10])))
            .ToList();

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
