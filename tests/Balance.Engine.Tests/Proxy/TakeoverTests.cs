using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>
/// One engine taking over another on the same endpoint, in one process (the socket, lock and
/// name hand-over are the same as between processes): no connection is lost under a client loop,
/// a long session finishes on the old engine, and the live layout carries over.
/// </summary>
public class TakeoverTests
{
    [Fact]
    public async Task Takeover_under_load_loses_no_connection_keeps_the_layout_and_the_long_session_finishes_on_the_old_engine()
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        await using var a = TestBackend.Start("A", BackendMode.Echo);
        await using var b = TestBackend.Start("B", BackendMode.Echo);
        await using var c = TestBackend.Start("C", BackendMode.Echo);
        var old = TestEngine.Start([a.Channel, b.Channel + ":7", "!", c.Channel], cfg => cfg with { Workers = 2, GracePeriod = TimeSpan.FromSeconds(30) });
        BalanceEngine? taker = null;
        using var stop = new CancellationTokenSource();
        try
        {
            int created;
            using (var control = old.Control())
            {
                control.SetWeight(0, 0, 3);
                control.Disable(1, 0);
                control.SetPolicy(0, PolicyCatalog.FindByName("wrr")!.Id);
                created = control.Create(1, "127.0.0.1", c.Port, maxConnections: 4, enabled: true);
            }

            using var longSession = await LoopbackClient.ConnectAsync(old.LocalEndPoint);
            Assert.Equal("one\n", await EchoAsync(longSession, "one\n"));
            var load = Task.Run(() => LoopAsync(old.LocalEndPoint, stop.Token));
            await Task.Delay(300);

            long before;
            using (var control = old.Control())
            {
                before = control.GetChannel(0, 0).TotalConnections + control.GetChannel(0, 1).TotalConnections;
            }

            var configuration = new BalanceConfiguration
            {
                BindAddress = "127.0.0.1",
                Port = old.LocalEndPoint.Port,
                Workers = 3,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                GracePeriod = TimeSpan.FromMilliseconds(200),
            };
            taker = BalanceEngine.TakeOver(configuration);
            await Task.Delay(300);
            await stop.CancelAsync();
            var (done, failures) = await load.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Empty(failures);
            Assert.True(done > 20, $"only {done} connections ran");

            // The old engine stopped accepting but its session still relays.
            Assert.False(old.Completion.IsCompleted);
            Assert.Equal("two\n", await EchoAsync(longSession, "two\n"));
            longSession.Shutdown(SocketShutdown.Both);
            await old.Completion.WaitAsync(TimeSpan.FromSeconds(10));

            using var now = ControlClient.Open(taker.Name);
            Assert.Equal(3, now.GetInstance().CounterStripes);
            Assert.Equal(PolicyCatalog.FindByName("wrr")!.Id, now.GetGroup(0).PolicyId);
            var first = now.GetChannel(0, 0);
            Assert.Equal(3, first.Weight);
            Assert.Equal(7, now.GetChannel(0, 1).MaxConnections);
            Assert.Equal(ChannelAdminState.Disabled, now.GetChannel(1, 0).AdminState);
            Assert.Equal(4, now.GetChannel(1, created).MaxConnections);
            Assert.Equal(ChannelAdminState.Enabled, now.GetChannel(1, created).AdminState);
            Assert.Equal(0, first.Connections + now.GetChannel(0, 1).Connections);
            // Carried as copied: what the old engine relayed after the copy stays in its own counters.
            Assert.InRange(first.TotalConnections + now.GetChannel(0, 1).TotalConnections, before, a.Accepted + b.Accepted);
            Assert.Equal("three\n", await EchoThroughAsync(taker.LocalEndPoint, "three\n"));
            Assert.True(File.Exists(taker.Name.OwnerLockPath), "the owner file went with the old engine");
            Assert.True(FileLock.IsHeld(taker.Name.OwnerLockPath));
        }
        finally
        {
            await stop.CancelAsync();
            if (taker is not null)
            {
                await taker.DisposeAsync();
            }

            await old.DisposeAsync();
        }
    }

    [Fact]
    public void Takeover_of_an_endpoint_nobody_serves_fails_with_exit_code_69()
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        var configuration = new BalanceConfiguration { BindAddress = "127.0.0.1", Port = FreePort.Next() };
        var e = Assert.Throws<ConfigurationException>(() => BalanceEngine.TakeOver(configuration));
        Assert.Equal(ExitCodes.Unavailable, e.ExitCode);
        Assert.Contains("nothing to take over", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopped_engine_frees_its_takeover_name_at_once()
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        await using var a = TestBackend.Start("A");
        var engine = TestEngine.Start([a.Channel]);
        var name = engine.Name;
        await engine.DisposeAsync();

        // The takeover thread waits in accept on that socket: a stop must close it, wait or not, or
        // the name stays bound and the next engine on this endpoint cannot be taken over.
        using var socket = TakeoverChannel.NewSocket();
        socket.Bind(TakeoverChannel.EndPointOf(name));
    }

    [Fact]
    public async Task A_second_takeover_takes_over_the_first_and_the_endpoint_keeps_one_owner()
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        await using var a = TestBackend.Start("A");
        var first = TestEngine.Start([a.Channel]);
        var configuration = new BalanceConfiguration { BindAddress = "127.0.0.1", Port = first.LocalEndPoint.Port, Workers = 1, GracePeriod = TimeSpan.FromMilliseconds(200) };
        var second = BalanceEngine.TakeOver(configuration);
        await first.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        var third = BalanceEngine.TakeOver(configuration);
        try
        {
            await second.Completion.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("A", await LoopbackClient.GreetingAsync(third.LocalEndPoint));
            var start = Assert.Throws<ConfigurationException>(() => BalanceEngine.Start(TestEngine.Configuration(first.LocalEndPoint.Port, a.Channel)));
            Assert.Equal(ExitCodes.OsError, start.ExitCode);
        }
        finally
        {
            await third.DisposeAsync();
        }

        Assert.False(File.Exists(third.Name.Path));
        Assert.False(File.Exists(third.Name.OwnerLockPath));
    }

    [Fact]
    public async Task A_one_worker_engine_without_SO_REUSEPORT_is_taken_over_by_three_workers_on_its_one_socket_and_they_stop_cleanly()
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        await using var a = TestBackend.Start("A");
        var old = TestEngine.Start([a.Channel], cfg => cfg with { Workers = 1 });
        var configuration = new BalanceConfiguration { BindAddress = "127.0.0.1", Port = old.LocalEndPoint.Port, Workers = 3, GracePeriod = TimeSpan.FromMilliseconds(200) };
        var taker = BalanceEngine.TakeOver(configuration);
        await old.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, taker.WorkerCount);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("A", await LoopbackClient.GreetingAsync(taker.LocalEndPoint));
        }

        await taker.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(File.Exists(taker.Name.Path));
    }

    [Theory]
    [InlineData("grant")]
    [InlineData("commit")]
    public async Task A_taker_that_vanishes_after_the_step_leaves_the_old_engine_serving_and_owning_its_name(string lastStep)
    {
        if (!TakeoverChannel.IsSupported)
        {
            return; // takeover needs Linux
        }

        await using var a = TestBackend.Start("A");
        await using var old = TestEngine.Start([a.Channel], cfg => cfg with { Workers = 2 });
        var record = await File.ReadAllBytesAsync(old.Name.Path);
        var descriptors = new List<int>();
        var socket = TakeoverChannel.NewSocket();
        socket.Connect(TakeoverChannel.EndPointOf(old.Name));
        using (var channel = new TakeoverChannel(socket))
        {
            channel.Send("take 1");
            var count = int.Parse(channel.Expect("grant", descriptors)[0], System.Globalization.CultureInfo.InvariantCulture);
            channel.Expect("sockets", descriptors);
            Assert.Equal(1 + 2, descriptors.Count);
            Assert.Equal(2, count);
            if (lastStep == "commit")
            {
                channel.Send("ready");
                channel.Expect("commit");
            }
        }

        TakeoverListeners.CloseAll(descriptors);
        using var control = old.Control();
        var events = new List<BalanceEvent>();
        long cursor = 0;
        await Eventually.TrueAsync(
            () =>
            {
                events.AddRange(control.ReadEvents(ref cursor));
                return events.Any(e => e.Message.StartsWith("takeover failed", StringComparison.Ordinal));
            },
            "the old engine reported the failed takeover",
            TakeoverChannel.StepTimeout + TimeSpan.FromSeconds(5)); // the engine's own bound for a silent taker
        Assert.Equal("A", await LoopbackClient.GreetingAsync(old.LocalEndPoint));
        Assert.Equal(record, await File.ReadAllBytesAsync(old.Name.Path));
        Assert.True(FileLock.IsHeld(old.Name.OwnerLockPath));
        await old.StopAsync();
        Assert.False(File.Exists(old.Name.Path));
        Assert.False(File.Exists(old.Name.OwnerLockPath));
    }

    private static async Task<string> EchoAsync(Socket socket, string text)
    {
        await socket.SendAllAsync(text);
        var bytes = await socket.ReadExactlyAsync(Encoding.ASCII.GetByteCount(text));
        return Encoding.ASCII.GetString(bytes);
    }

    private static async Task<string> EchoThroughAsync(IPEndPoint target, string text)
    {
        using var socket = await LoopbackClient.ConnectAsync(target);
        return await EchoAsync(socket, text);
    }

    /// <summary>Connections one after another, each echoing a line, until cancelled: how many ran and what failed.</summary>
    private static async Task<(int Done, List<string> Failures)> LoopAsync(IPEndPoint target, CancellationToken stop)
    {
        var failures = new List<string>();
        var done = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var reply = await EchoThroughAsync(target, "ping\n");
                if (reply != "ping\n")
                {
                    failures.Add("reply " + reply);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException or OperationCanceledException)
            {
                failures.Add(e.GetType().Name + ": " + e.Message);
            }

            done++;
        }

        return (done, failures);
    }
}
