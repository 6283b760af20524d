using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.CommandLine;
using Balance.Configuration;
using Balance.Control;
using Balance.Health;
using Balance.Proxy;
using Balance.Shell;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Health;

/// <summary>Active and passive checks, drain and forced close, on real loopback sockets through a real engine.</summary>
public class HealthCheckTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    // Scheduling slack on a loaded machine: ticks, thread pool and the check's own time.
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(700);

    private static BalanceEngine StartEngine(IEnumerable<string> words, HealthCheckOptions checks) =>
        TestEngine.Start(words, c => c with { Checks = checks });

    private static HealthCheckOptions Active(int rise = 2, int fall = 2) => new()
    {
        Interval = Interval,
        Timeout = TimeSpan.FromMilliseconds(150),
        Rise = rise,
        Fall = fall,
    };

    [Fact]
    public async Task A_back_end_that_dies_is_down_within_fall_intervals_and_up_again_within_rise_intervals()
    {
        await using var b = TestBackend.Start("B");
        var port = FreePort.Next();
        var a = GreeterOnPort.Start(port, "A");
        await using var engine = StartEngine([$"127.0.0.1:{port}", b.Channel], Active());
        using var control = engine.Control();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Up, "channel 0 up after its first check");

        var cursor = control.EventHead;
        a.Dispose();
        var killed = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Down, "channel 0 down");
        Assert.True(killed.Elapsed <= (Interval * 2) + Interval + Slack, $"down after {killed.ElapsedMilliseconds} ms");
        var failuresAtDown = control.GetChannel(0, 0).Failures;
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Equal(failuresAtDown, control.GetChannel(0, 0).Failures);
        var events = control.ReadEvents(ref cursor);
        Assert.Contains(events, e => e.Kind == EngineEventKind.HealthDown && e.Channel == 0 && e.Message.Contains("checks failed in a row", StringComparison.Ordinal));

        using var again = GreeterOnPort.Start(port, "A");
        var restarted = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Up, "channel 0 up again");
        Assert.True(restarted.Elapsed <= (Interval * 2) + Interval + Slack, $"up after {restarted.ElapsedMilliseconds} ms");
        var seen = new HashSet<string?>();
        for (var i = 0; i < 4; i++)
        {
            seen.Add(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Contains("A", seen);
        Assert.Contains(control.ReadEvents(ref cursor), e => e.Kind == EngineEventKind.HealthUp && e.Channel == 0);
        var info = control.GetChannel(0, 0);
        Assert.Equal(CheckResult.Passed, info.LastCheckResult);
        Assert.NotNull(info.LastCheck);
        Assert.Equal(HealthSource.Check, info.HealthSource);
    }

    [Fact]
    public async Task Once_a_black_holed_back_end_is_down_no_client_waits_and_the_other_checks_keep_their_pace()
    {
        using var silent = await SilentEndpoint.StartAsync();
        await using var b = TestBackend.Start("B");
        await using var engine = StartEngine([silent.Channel, b.Channel], Active());
        using var control = engine.Control();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Down, "the silent channel down");
        Assert.Equal(CheckResult.TimedOut, control.GetChannel(0, 0).LastCheckResult);

        for (var i = 0; i < 6; i++)
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"client {i} took {watch.ElapsedMilliseconds} ms");
        }

        // The silent back-end's checks time out every interval; the good one's are still checked on time.
        for (var i = 0; i < 5; i++)
        {
            var last = control.GetChannel(0, 1).LastCheck;
            Assert.NotNull(last);
            Assert.True(DateTimeOffset.UtcNow - last!.Value <= Interval + Slack, $"last check of channel 1 {(DateTimeOffset.UtcNow - last.Value).TotalMilliseconds} ms ago");
            await Task.Delay(Interval);
        }

        Assert.Equal(ChannelHealth.Up, control.GetChannel(0, 1).Health);
    }

    [Fact]
    public async Task A_check_with_send_and_expect_marks_down_a_back_end_that_accepts_but_answers_wrongly()
    {
        await using var good = TestBackend.Start("alive");
        await using var bad = TestBackend.Start("broken");
        var checks = Active() with { Send = "ping\n", Expect = "alive" };
        await using var engine = StartEngine([bad.Channel, good.Channel], checks);
        using var control = engine.Control();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Down, "the wrongly answering channel down");
        Assert.Equal(CheckResult.UnexpectedReply, control.GetChannel(0, 0).LastCheckResult);
        Assert.Equal(ChannelHealth.Up, control.GetChannel(0, 1).Health);
        Assert.Equal("alive", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        Assert.Equal("alive", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
    }

    [Fact]
    public async Task Passive_checks_take_a_channel_down_after_max_fails_and_let_clients_try_it_again_after_the_retry_period()
    {
        await using var b = TestBackend.Start("B");
        var dead = $"127.0.0.1:{FreePort.Next()}";
        var checks = new HealthCheckOptions { MaxFails = 2, FailTimeout = TimeSpan.FromMilliseconds(600) };
        var debug = new StringWriter();
        await using var engine = TestEngine.Start([dead, b.Channel], c => c with { Checks = checks }, new EngineOutput { Debug = debug });
        using var control = engine.Control();
        var cursor = control.EventHead;

        // Round robin sends every other client to the dead channel first; each fails over to B.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Equal(ChannelHealth.Down, control.GetChannel(0, 0).Health);
        Assert.Equal(HealthSource.Clients, control.GetChannel(0, 0).HealthSource);
        var failures = control.GetChannel(0, 0).Failures;
        Assert.Equal(2, failures);
        Assert.Contains(control.ReadEvents(ref cursor), e => e.Kind == EngineEventKind.HealthDown && e.Message.Contains("2 connects by clients failed", StringComparison.Ordinal));

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        Assert.Equal(failures, control.GetChannel(0, 0).Failures);
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Unknown, "tried again after the retry period");
        Assert.Contains(control.ReadEvents(ref cursor), e => e.Kind == EngineEventKind.HealthUnknown);
        Assert.Contains($"group 0 channel 0 ({dead}) is down: 2 connects by clients failed in a row", debug.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_lets_sessions_in_flight_finish_byte_exact_starts_no_new_one_and_the_wait_ends_at_zero_or_fails_at_the_timeout()
    {
        await using var a = TestBackend.Start("A", BackendMode.Echo);
        await using var b = TestBackend.Start("B");
        await using var engine = TestEngine.Start([a.Channel, b.Channel]);
        using var control = engine.Control();

        using var session = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        await session.SendAllAsync("before\n");
        Assert.Equal("before", await session.ReadLineAsync());
        Assert.Equal(ChannelChange.Changed, control.Drain(0, 0));

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
        }

        var payload = new byte[200_000];
        new Random(7).NextBytes(payload);
        await session.SendAllAsync(payload);
        Assert.Equal(payload, await session.ReadExactlyAsync(payload.Length));
        Assert.Equal(1, control.WaitForDrain([(0, 0)], TimeSpan.FromMilliseconds(200)));

        var waiting = Task.Run(() => control.WaitForDrain([(0, 0)], TimeSpan.FromSeconds(10)));
        session.Shutdown(SocketShutdown.Both);
        Assert.Equal(0, await waiting);
        Assert.Contains(" drn ", ShowFormatter.FormatLine(control.GetChannel(0, 0)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forced_close_ends_the_live_sessions_of_that_channel_only()
    {
        await using var a = TestBackend.Start("A", BackendMode.Echo);
        await using var b = TestBackend.Start("B", BackendMode.Echo);
        await using var engine = TestEngine.Start([a.Channel, b.Channel]);
        using var control = engine.Control();
        using var first = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        using var second = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        await Eventually.TrueAsync(() => control.LiveConnections(0, 0) == 1 && control.LiveConnections(0, 1) == 1, "one session on each channel");
        var cursor = control.EventHead;

        control.CloseSessions(0, 0);
        await Eventually.TrueAsync(() => control.LiveConnections(0, 0) == 0, "channel 0 closed");
        Assert.Equal(1, control.LiveConnections(0, 1));
        await second.SendAllAsync("still\n");
        Assert.Equal("still", await second.ReadLineAsync());
        Assert.Contains(control.ReadEvents(ref cursor), e => e.Kind == EngineEventKind.SessionsClosed && e.Channel == 0);
    }

    [Fact]
    public async Task Checks_run_on_the_sockets_transport_too()
    {
        await using var b = TestBackend.Start("B");
        var dead = $"127.0.0.1:{FreePort.Next()}";
        await using var engine = TestEngine.Start([dead, b.Channel], c => c with { Checks = Active(), RuntimeSockets = true });
        using var control = engine.Control();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Down && control.GetChannel(0, 1).Health == ChannelHealth.Up, "dead down, live up");
        Assert.Equal(CheckResult.Refused, control.GetChannel(0, 0).LastCheckResult);
        Assert.Equal("B", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
    }

    [Fact]
    public async Task With_several_workers_a_back_end_gets_one_check_per_interval()
    {
        await using var a = TestBackend.Start("A");
        var checks = Active() with { Interval = TimeSpan.FromMilliseconds(100), Timeout = TimeSpan.FromMilliseconds(90) };
        await using var engine = TestEngine.Start([a.Channel], c => c with { Checks = checks, Workers = 3 });
        using var control = engine.Control();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Health == ChannelHealth.Up, "channel up");
        var before = a.Accepted;
        await Task.Delay(TimeSpan.FromSeconds(1));
        var checked1s = a.Accepted - before;

        // One worker checks it: about 10 a second; three would make about 30.
        Assert.InRange(checked1s, 5, 14);
    }

    [Theory]
    [InlineData("--fall", "0", "invalid --fall [0]")]
    [InlineData("--rise", "0", "invalid --rise [0]")]
    [InlineData("--check-interval", "-5", "invalid --check-interval [-5]")]
    [InlineData("--check-timeout", "0", "invalid --check-timeout [0]")]
    [InlineData("--max-fails", "x", "invalid --max-fails [x]")]
    [InlineData("--check-interval", "NaN", "invalid --check-interval [NaN]")]
    [InlineData("--fail-timeout", "2h", "invalid --fail-timeout [2h]")]
    public void Bad_values_get_one_clear_line_naming_the_option(string option, string value, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(["--check-interval", "1s", option, value, "9000", "h:81"]));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }

    [Fact]
    public void A_check_string_over_the_limit_and_a_timeout_over_the_interval_are_refused()
    {
        var longText = new string('x', HealthCheckOptions.MaxTextBytes + 1);
        var e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(["--check-interval", "1s", "--check-send", longText, "9000", "h:81"]));
        Assert.Contains("invalid --check-send [257 bytes]: give 1 to 256 bytes", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(["--check-interval", "500ms", "--check-timeout", "2s", "9000", "h:81"]));
        Assert.Contains("--check-timeout", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(["--check-expect", "OK", "9000", "h:81"]));
        Assert.Contains("need active checks", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_parse_with_units_and_escapes_and_are_off_by_default()
    {
        Assert.Equal(HealthCheckOptions.None, CommandLineParser.Parse(["9000", "h:81"]).Configuration.Checks);
        var checks = CommandLineParser.Parse(["--check-interval", "1s", "--check-timeout=250ms", "--rise", "3", "--fall", "4", "--check-send", "PING\\r\\n", "--check-expect", "+PONG", "--max-fails", "5", "--fail-timeout", "1m", "9000", "h:81"]).Configuration.Checks;
        Assert.Equal(TimeSpan.FromSeconds(1), checks.Interval);
        Assert.Equal(TimeSpan.FromMilliseconds(250), checks.Timeout);
        Assert.Equal((3, 4, 5), (checks.Rise, checks.Fall, checks.MaxFails));
        Assert.Equal("PING\r\n", checks.Send);
        Assert.Equal("+PONG", checks.Expect);
        Assert.Equal(TimeSpan.FromMinutes(1), checks.FailTimeout);
    }

    [Fact]
    public void Bad_channel_overrides_change_nothing()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.Client.SetCheckOverrides(0, 0, new ChannelCheckOverrides(500, 2, 3, 0));
        Assert.Throws<ControlException>(() => instance.Client.SetCheckOverrides(0, 0, new ChannelCheckOverrides(500, -1, 3, 0)));
        Assert.Throws<ControlException>(() => instance.Client.SetCheckOverrides(0, 0, new ChannelCheckOverrides(-5, 2, 3, 0)));
        Assert.Equal(new ChannelCheckOverrides(500, 2, 3, 0), instance.Client.GetChannel(0, 0).CheckOverrides);
    }

    [Theory]
    [InlineData(ChannelHealth.Unknown, 1, ChannelHealth.Up)]
    [InlineData(ChannelHealth.Unknown, -2, ChannelHealth.Unknown)]
    [InlineData(ChannelHealth.Unknown, -3, ChannelHealth.Down)]
    [InlineData(ChannelHealth.Up, -2, ChannelHealth.Up)]
    [InlineData(ChannelHealth.Up, -3, ChannelHealth.Down)]
    [InlineData(ChannelHealth.Down, 1, ChannelHealth.Down)]
    [InlineData(ChannelHealth.Down, 2, ChannelHealth.Up)]
    public void Rise_and_fall_decide_as_haproxy_does(ChannelHealth current, int streak, ChannelHealth expected) =>
        Assert.Equal(expected, HealthRules.Decide(current, streak, rise: 2, fall: 3));

    [Fact]
    public void Streaks_restart_when_the_result_turns_and_stay_bounded()
    {
        Assert.Equal(1, HealthRules.NextStreak(-4, passed: true));
        Assert.Equal(-1, HealthRules.NextStreak(4, passed: false));
        Assert.Equal(5, HealthRules.NextStreak(4, passed: true));
        Assert.Equal(HealthRules.StreakLimit, HealthRules.NextStreak(HealthRules.StreakLimit, passed: true));
    }

    /// <summary>A greeting back-end on a fixed port, so a test can kill it and start it again where the channel points.</summary>
    private sealed class GreeterOnPort : IDisposable
    {
        private readonly Socket listener;
        private readonly CancellationTokenSource stop = new();

        private GreeterOnPort(Socket listener, string name)
        {
            this.listener = listener;
            _ = AcceptAsync(Encoding.ASCII.GetBytes(name + "\n"));
        }

        public static GreeterOnPort Start(int port, string name)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(64);
            return new GreeterOnPort(socket, name);
        }

        public void Dispose()
        {
            stop.Cancel();
            listener.Dispose();
        }

        private async Task AcceptAsync(byte[] greeting)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var client = await listener.AcceptAsync(stop.Token);
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            try
                            {
                                await client.SendAsync(greeting, SocketFlags.None);
                                client.Shutdown(SocketShutdown.Send);
                                var buffer = new byte[256];
                                while (await client.ReceiveAsync(buffer, SocketFlags.None) > 0)
                                {
                                }
                            }
                            catch (SocketException)
                            {
                            }
                        }
                    });
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
    }
}
