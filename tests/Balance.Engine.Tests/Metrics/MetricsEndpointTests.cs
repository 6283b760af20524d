using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Balance.Configuration;
using Balance.Control;
using Balance.Metrics;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Metrics;

/// <summary>The endpoint of an in-process engine: what it serves, what it refuses, and when it goes.</summary>
public sealed partial class MetricsEndpointTests : IAsyncLifetime
{
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private TestBackend backendA = null!;
    private TestBackend backendB = null!;
    private BalanceEngine engine = null!;

    private IPEndPoint metricsEndpoint = null!;

    public Task InitializeAsync()
    {
        backendA = TestBackend.Start("A");
        backendB = TestBackend.Start("B");
        engine = TestEngine.Start([backendA.Channel, backendB.Channel, "!", backendB.Channel, "%"], c =>
        {
            metricsEndpoint = new IPEndPoint(IPAddress.Loopback, FreePort.Next());
            return c with { MetricsEndpoint = metricsEndpoint };
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await engine.DisposeAsync();
        await backendA.DisposeAsync();
        await backendB.DisposeAsync();
        http.Dispose();
    }

    [Fact]
    public async Task Metrics_carry_the_snapshot_figures_per_channel_group_and_instance()
    {
        for (var i = 0; i < 4; i++)
        {
            using var c = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
            Assert.StartsWith(i % 2 == 0 ? "A" : "B", await c.ReadLineAsync(), StringComparison.Ordinal);
        }

        using var control = engine.Control();
        control.SetAdminState(0, 1, ChannelAdminState.Draining);
        await Eventually.TrueAsync(() => control.GetChannels(0).All(c => c.Connections == 0), "sessions closed");
        await Task.Delay(MetricsServer.RenderInterval * 2);

        var text = await http.GetStringAsync(Url("/metrics"));
        var snapshot = control.Snapshot();
        var endpoint = ChannelSpec.FormatDestination("127.0.0.1", engine.LocalEndPoint.Port);
        foreach (var c in snapshot.Channels)
        {
            var labels = $"endpoint=\"{endpoint}\",group=\"{c.Group}\",channel=\"{c.Index}\",destination=\"{c.Destination}\"";
            Assert.Equal(c.TotalConnections, Value(text, "balance_channel_connections_total{" + labels + "}"));
            Assert.Equal(c.BytesSent, Value(text, "balance_channel_sent_bytes_total{" + labels + "}"));
            Assert.Equal(c.BytesReceived, Value(text, "balance_channel_received_bytes_total{" + labels + "}"));
            Assert.Equal(c.Failures, Value(text, "balance_channel_connect_failures_total{" + labels + "}"));
            Assert.Equal(c.Connections, Value(text, "balance_channel_connections{" + labels + "}"));
            Assert.Equal(1, Value(text, "balance_channel_admin_state{" + labels + $",state=\"{c.AdminState.ToString().ToLowerInvariant()}\"}}"));
            Assert.Equal(c.Serving ? 1 : 0, Value(text, "balance_channel_serving{" + labels + "}"));
        }

        Assert.True(snapshot.Channels[0].TotalConnections == 2 && snapshot.Channels[1].TotalConnections == 2, "round robin over two channels");
        Assert.Equal(0, Value(text, $"balance_channel_serving{{endpoint=\"{endpoint}\",group=\"0\",channel=\"1\",destination=\"{backendB.Channel}\"}}"));
        Assert.Equal(1, Value(text, $"balance_group_info{{endpoint=\"{endpoint}\",group=\"1\",policy=\"Hash\"}}"));
        Assert.Equal(snapshot.Instance.Accepted, Value(text, $"balance_accepted_connections_total{{endpoint=\"{endpoint}\"}}"));
        Assert.Equal(1, Value(text, $"balance_build_info{{endpoint=\"{endpoint}\",version=\"{ProductInfo.Version}\",compatible=\"{ProductInfo.CompatibleRelease}\"}}"));
        Assert.Contains("# TYPE balance_channel_connections_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE balance_channel_connections gauge", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promtool_check_metrics_passes_on_the_endpoint_and_on_the_textfile()
    {
        using (var c = await LoopbackClient.ConnectAsync(engine.LocalEndPoint))
        {
            await c.ReadLineAsync();
        }

        var text = await http.GetStringAsync(Url("/metrics"));
        var check = await ExternalTool.RunAsync("promtool", ["check", "metrics"], TimeSpan.FromSeconds(30), text);
        Assert.True(check.ExitCode == 0, $"promtool: {check.Output}{check.Error}");

        var folder = Directory.CreateTempSubdirectory("balance-textfile-");
        try
        {
            using var control = engine.Control();
            var file = Path.Combine(folder.FullName, "balance.prom");
            TextfileWriter.Write(file, [control.Snapshot()]);
            Assert.Equal([file], Directory.GetFiles(folder.FullName));
            var fileCheck = await ExternalTool.RunAsync("promtool", ["check", "metrics"], TimeSpan.FromSeconds(30), await File.ReadAllTextAsync(file));
            Assert.True(fileCheck.ExitCode == 0, $"promtool: {fileCheck.Output}{fileCheck.Error}");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Only_GET_and_HEAD_on_its_two_paths_are_answered()
    {
        using (var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("/metrics"))))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.True(head.Content.Headers.ContentLength > 0);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }

        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete })
        {
            using var refused = await http.SendAsync(new HttpRequestMessage(method, Url("/metrics")) { Content = new StringContent("x") });
            Assert.Equal(HttpStatusCode.MethodNotAllowed, refused.StatusCode);
            Assert.Equal("GET, HEAD", string.Join(", ", refused.Content.Headers.Allow));
        }

        using (var missing = await http.GetAsync(Url("/admin")))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using var page = await http.GetAsync(Url("/"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'", string.Join(' ', page.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_requests_and_bodies_are_refused()
    {
        using var big = new HttpRequestMessage(HttpMethod.Get, Url("/metrics"));
        big.Headers.Add("X-Filler", new string('a', MetricsServer.MaxRequestBytes));
        using var tooLarge = await http.SendAsync(big);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, tooLarge.StatusCode);

        var reply = await RawAsync("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        Assert.StartsWith("HTTP/1.1 413", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clients_that_never_finish_their_request_do_not_hold_up_a_scrape()
    {
        var stalled = new List<Socket>();
        try
        {
            for (var i = 0; i < MetricsServer.MaxConcurrentRequests * 4; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(Endpoint());
                await s.SendAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
                stalled.Add(s);
            }

            var started = Environment.TickCount64;
            var text = await http.GetStringAsync(Url("/metrics"));
            Assert.Contains("balance_channel_connections_total", text, StringComparison.Ordinal);
            Assert.True(Environment.TickCount64 - started < 3000, $"a scrape took {Environment.TickCount64 - started} ms behind stalled clients");
        }
        finally
        {
            stalled.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_request_that_never_completes_is_closed_after_the_request_timeout()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(Endpoint());
        await s.SendAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
        var started = Environment.TickCount64;
        using var cancel = new CancellationTokenSource(MetricsServer.RequestTimeout + TimeSpan.FromSeconds(10));
        var n = await s.ReceiveAsync(new byte[16], SocketFlags.None, cancel.Token);
        var elapsed = Environment.TickCount64 - started;
        Assert.Equal(0, n);
        Assert.InRange(elapsed, MetricsServer.RequestTimeout.TotalMilliseconds - 500, MetricsServer.RequestTimeout.TotalMilliseconds + 5000);
    }

    [Fact]
    public async Task Connections_beyond_the_cap_are_answered_503_and_closed()
    {
        var open = new List<Socket>();
        try
        {
            for (var i = 0; i < MetricsServer.MaxConnections; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(Endpoint());
                open.Add(s);
            }

            await Task.Delay(200);
            var reply = await RawAsync("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 503", reply, StringComparison.Ordinal);
        }
        finally
        {
            open.ForEach(s => s.Dispose());
        }

        // The slots come back once those connections close.
        Assert.True(await Eventually.HoldsAsync(async () => (await RawAsync("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")).StartsWith("HTTP/1.1 200", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Only_its_own_address_or_localhost_is_accepted_as_host()
    {
        var port = Endpoint().Port.ToString(CultureInfo.InvariantCulture);
        Assert.StartsWith("HTTP/1.1 200", await RawAsync($"GET /metrics HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", await RawAsync($"HEAD / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400", await RawAsync($"GET /metrics HTTP/1.1\r\nHost: attacker.example:{port}\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400", await RawAsync("GET /metrics HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400", await RawAsync("hello\r\n\r\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_scrapes_are_served_at_a_bounded_pace_and_the_segment_read_once_per_interval()
    {
        var scrapes = Enumerable.Range(0, 40).Select(_ => http.GetStringAsync(Url("/metrics"))).ToArray();
        var started = Environment.TickCount64;
        var texts = await Task.WhenAll(scrapes);
        var elapsed = Environment.TickCount64 - started;
        Assert.All(texts, t => Assert.Contains("balance_build_info", t, StringComparison.Ordinal));

        // 40 requests over 4 workers, each at least MinimumRequestTime: 10 rounds.
        var floor = 40 / MetricsServer.MaxConcurrentRequests * MetricsServer.MinimumRequestTime.TotalMilliseconds;
        Assert.True(elapsed >= floor * 0.9, $"40 scrapes took {elapsed} ms; the pace allows no less than {floor} ms");
        Assert.True(texts.Select(t => UptimeLine().Match(t).Value).Distinct().Count() <= 1 + (elapsed / MetricsServer.RenderInterval.TotalMilliseconds), "more renderings than intervals");
    }

    [Fact]
    public async Task The_endpoint_closes_with_the_engine()
    {
        var url = Url("/metrics");
        Assert.Contains("balance_uptime_seconds", await http.GetStringAsync(url), StringComparison.Ordinal);
        await engine.StopAsync(TimeSpan.Zero);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var e = await Assert.ThrowsAsync<SocketException>(async () => await probe.ConnectAsync(Endpoint()));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public void A_metrics_endpoint_on_the_proxied_port_or_a_port_in_use_is_refused_at_start()
    {
        var port = FreePort.Next();
        var same = TestEngine.Configuration(port, backendA.Channel) with { MetricsEndpoint = new IPEndPoint(IPAddress.Loopback, port) };
        var e = Assert.Throws<ConfigurationException>(() => BalanceEngine.Start(same));
        Assert.Contains("must not use the proxied port", e.Message, StringComparison.Ordinal);

        var taken = TestEngine.Configuration(FreePort.Next(), backendA.Channel) with { MetricsEndpoint = Endpoint() };
        var busy = Assert.Throws<ConfigurationException>(() => BalanceEngine.Start(taken));
        Assert.Equal(ExitCodes.OsError, busy.ExitCode);
        Assert.Contains("cannot serve metrics on 127.0.0.1:", busy.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ControlClient.ListInstances(), i => i.Port == taken.Port);
    }

    [Theory]
    [InlineData("127.0.0.1:9100", "127.0.0.1:9100")]
    [InlineData("[::1]:9100", "[::1]:9100")]
    [InlineData("0.0.0.0:9100", "0.0.0.0:9100")]
    public void Metrics_addresses_read_back_as_written(string text, string expected) =>
        Assert.Equal(expected, MetricsAddress.Format(MetricsAddress.Parse(text)));

    [Theory]
    [InlineData("9100")]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("localhost:9100")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    public void Bad_metrics_addresses_name_the_form_wanted(string text)
    {
        var e = Assert.Throws<ConfigurationException>(() => MetricsAddress.Parse(text));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains($"invalid metrics endpoint [{text}]: give address:port", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_page_lists_every_channel_with_its_states_escaped()
    {
        using var control = engine.Control();
        control.Disable(0, 1);
        await Task.Delay(MetricsServer.RenderInterval * 2);
        var page = await http.GetStringAsync(Url("/"));
        Assert.Contains("<section class=\"group\" id=\"group-0\"><h2>Group 0 <span class=\"policy\">RoundRobin</span>", page, StringComparison.Ordinal);
        Assert.Contains("id=\"group-1\"><h2>Group 1 <span class=\"policy\">Hash</span>", page, StringComparison.Ordinal);
        Assert.Matches($"id=\"channel-0-0\".*<td>{Regex.Escape(backendA.Channel)}</td><td class=\"admin enabled\">enabled</td><td class=\"health unknown\">unknown</td>", page);
        Assert.Matches($"id=\"channel-0-1\".*<td>{Regex.Escape(backendB.Channel)}</td><td class=\"admin disabled\">disabled</td>", page);
        Assert.Contains("<meta http-equiv=\"refresh\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"http", page, StringComparison.Ordinal);
    }

    private IPEndPoint Endpoint() => metricsEndpoint;

    private Uri Url(string path) => new("http://" + MetricsAddress.Format(Endpoint()) + path);

    private async Task<string> RawAsync(string request)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(Endpoint());
        await s.SendAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var n = await s.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    /// <summary>The value of one exposed series, by its name and labels as written.</summary>
    internal static double Value(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"no series {series} in:\n{exposition}");
    }

    [GeneratedRegex("balance_uptime_seconds\\{[^}]*\\} \\S+")]
    private static partial Regex UptimeLine();
}
