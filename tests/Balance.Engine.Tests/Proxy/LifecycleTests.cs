using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Proxy;

public class LifecycleTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>True in the subclass that runs every test here on the runtime's socket operations instead of the engine's epoll loop.</summary>
    protected virtual bool RuntimeSockets => false;

    private BalanceEngine StartEngine(IEnumerable<string> words, Func<BalanceConfiguration, BalanceConfiguration>? adjust = null, EngineOutput? output = null) =>
        TestEngine.Start(words, c => (adjust ?? (x => x))(c) with { RuntimeSockets = RuntimeSockets }, output);

    private BalanceEngine StartEngine(Func<int, BalanceConfiguration> configure) =>
        TestEngine.Start(port => configure(port) with { RuntimeSockets = RuntimeSockets });

    [Fact]
    public async Task A_kill_request_through_the_segment_stops_the_engine_gracefully()
    {
        await using var a = TestBackend.Start("A");
        await using var engine = StartEngine([a.Channel], c => c with { GracePeriod = TimeSpan.FromMilliseconds(300) });
        var name = engine.Name;
        using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        Assert.Equal("A", await client.ReadLineAsync());

        using var control = engine.Control();
        control.SetGroupType(0, GroupType.RoundRobin); // a structural change leaves a control lock file behind
        var cursor = control.EventHead;
        Assert.True(control.Kill(TimeSpan.FromSeconds(10)));
        await engine.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        // The held session was closed after the grace period, in order.
        Assert.Empty(await client.ReadToEndAsync());
        Assert.False(File.Exists(name.Path));
        Assert.False(File.Exists(name.OwnerLockPath));
        Assert.False(File.Exists(name.ControlLockPath));
        Assert.Equal(EngineState.Stopped, control.Segment.State);
        var kinds = control.ReadEvents(ref cursor).Select(e => e.Kind).ToArray();
        Assert.Contains(EngineEventKind.Stopping, kinds);
        Assert.Contains(EngineEventKind.Stopped, kinds);
        await Assert.ThrowsAnyAsync<SocketException>(() => LoopbackClient.ConnectAsync(engine.LocalEndPoint));
    }

    [Fact]
    public async Task Stop_waits_for_sessions_that_finish_within_the_grace_period()
    {
        await using var r = TestBackend.Start("R", BackendMode.ReplyAfterHalfClose);
        await using var engine = StartEngine([r.Channel], c => c with { GracePeriod = TimeSpan.FromSeconds(5) });
        using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        await client.SendAllAsync("abc");
        await Eventually.TrueAsync(() => r.BytesReceived == 3, "request relayed");

        var stop = engine.StopAsync();
        await Task.Delay(200);
        Assert.False(stop.IsCompleted);
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal("R:3\n", System.Text.Encoding.ASCII.GetString(await client.ReadToEndAsync()));
        await stop.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_second_stop_with_no_grace_cuts_the_running_grace_period_short()
    {
        await using var r = TestBackend.Start("R", BackendMode.ReplyAfterHalfClose);
        await using var engine = StartEngine([r.Channel], c => c with { GracePeriod = TimeSpan.FromSeconds(30) });
        using var client = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
        await client.SendAllAsync("abc");
        await Eventually.TrueAsync(() => r.BytesReceived == 3, "request relayed");

        var stop = engine.StopAsync(); // the session never ends by itself: 30 s of grace
        await Task.Delay(300);
        Assert.False(stop.IsCompleted);
        var started = Environment.TickCount64;
        var second = engine.StopAsync(TimeSpan.Zero); // a second signal
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(Environment.TickCount64 - started < 10_000);
        Assert.True(stop.IsCompletedSuccessfully);
        Assert.Empty(await client.ReadToEndAsync()); // closed without its reply
    }

    [Fact]
    public async Task Started_engine_publishes_its_configuration_in_the_segment()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var engine = StartEngine([a.Channel + ":3", "%", b.Channel]);
        using var control = engine.Control();
        var instance = control.GetInstance();
        Assert.Equal(EngineState.Running, instance.State);
        Assert.Equal(Environment.ProcessId, instance.ProcessId);
        Assert.Equal(engine.LocalEndPoint.Port, instance.Port);
        Assert.Equal(GroupType.Hash, control.GetGroup(0).Type);
        Assert.Equal(GroupType.RoundRobin, control.GetGroup(1).Type);
        var first = control.GetChannel(0, 0);
        Assert.True(first.Enabled);
        Assert.Equal(3, first.MaxConnections);
        Assert.Equal(a.Port, first.Port);
        Assert.Equal(IPAddress.Loopback, first.Address);
        long cursor = 0;
        Assert.Contains(control.ReadEvents(ref cursor), e => e.Kind == EngineEventKind.Started);
    }

    [Fact]
    public async Task A_second_engine_on_the_same_endpoint_fails_with_71_and_leaves_the_first_untouched()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var first = StartEngine([a.Channel]);
        var config = TestEngine.Configuration(first.LocalEndPoint.Port, b.Channel);
        var e = Assert.Throws<ConfigurationException>(() => BalanceEngine.Start(config));
        Assert.Equal(ExitCodes.OsError, e.ExitCode);
        Assert.StartsWith("bind(): ", e.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{first.LocalEndPoint.Port}", e.Message, StringComparison.Ordinal);

        Assert.Equal("A", await LoopbackClient.GreetingAsync(first.LocalEndPoint));
        using var control = first.Control();
        Assert.Equal(a.Port, control.GetChannel(0, 0).Port);
        Assert.Equal(Environment.ProcessId, control.GetInstance().ProcessId);
        Assert.True(control.IsAlive);
    }

    [Fact]
    public void An_endpoint_whose_owner_lock_is_held_is_refused_with_71_naming_the_pid_and_left_alone()
    {
        // A live owner that is not listening on the port (yet): the lock, not the bind, must refuse.
        var port = FreePort.Next();
        var name = SegmentName.For("127.0.0.1", port);
        var owner = FileLock.TryAcquire(name.OwnerLockPath);
        Assert.NotNull(owner);
        var existing = ControlSegment.Create(name, TestEngine.Configuration(port, "127.0.0.9:1").WithLimitsSized());
        try
        {
            var e = Assert.Throws<ConfigurationException>(() => BalanceEngine.Start(TestEngine.Configuration(port, "127.0.0.1:1")));
            Assert.Equal(ExitCodes.OsError, e.ExitCode);
            Assert.Contains($"pid {Environment.ProcessId}", e.Message, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{port}", e.Message, StringComparison.Ordinal);

            // The running owner's segment is untouched and the refused engine let go of the port.
            Assert.True(File.Exists(name.Path));
            Assert.Equal(Environment.ProcessId, existing.Header.OwnerPid);
            Assert.True(FileLock.IsHeld(name.OwnerLockPath));
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        finally
        {
            existing.Dispose();
            File.Delete(name.Path);
            owner.DeleteOnDispose();
            owner.Dispose();
        }
    }

    [Fact]
    public async Task A_stale_segment_of_a_crashed_engine_is_replaced_cleanly()
    {
        await using var a = TestBackend.Start("A");
        await using var engine = StartEngine(port =>
        {
            // What a crashed engine leaves: its segment with ghost channels and counters, and an unheld lock file.
            var ghost = TestEngine.Configuration(port, "127.0.0.9:1", "127.0.0.9:2", "!", "127.0.0.9:3");
            var name = SegmentName.For("127.0.0.1", port);
            using (var stale = ControlSegment.Create(name, ghost.WithLimitsSized()))
            {
                stale.Group(0).ChannelCount = 2;
                stale.Group(1).ChannelCount = 1;
                stale.Channel(0, 0).AdminState = ChannelAdminState.Enabled;
                stale.Channel(0, 0).Connections = 7;
                stale.Channel(0, 0).TotalConnections = 99;
                stale.Channel(1, 0).AdminState = ChannelAdminState.Enabled;
                stale.Header.State = (int)EngineState.Running;
            }

            File.WriteAllText(name.OwnerLockPath, string.Empty);
            return TestEngine.Configuration(port, a.Channel);
        });

        using var control = engine.Control();
        var snapshot = control.Snapshot();
        var channel = Assert.Single(snapshot.Channels);
        Assert.Equal(a.Port, channel.Port);
        Assert.Equal(0, channel.Connections);
        Assert.Equal(0, channel.TotalConnections);
        Assert.Single(snapshot.Groups);
        Assert.Equal(Environment.ProcessId, snapshot.Instance.ProcessId);
        Assert.Equal("A", await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
    }

    [Fact]
    public async Task Unresolvable_channel_fails_with_65_naming_the_channel()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            BalanceEngine.Start(TestEngine.Configuration(FreePort.Next(), "no-such-host.invalid:80")));
        Assert.Equal(ExitCodes.DataError, e.ExitCode);
        Assert.Equal("no-such-host.invalid:80", e.Token);
        Assert.Contains("no-such-host.invalid", e.Message, StringComparison.Ordinal);

        // One statement of the problem, not the resolver's own "invalid address" nested inside ours.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(e.Message, "invalid address"));
        await Task.CompletedTask;
    }

    [Fact]
    public void Unresolvable_outgoing_address_fails_with_65()
    {
        var config = TestEngine.Configuration(FreePort.Next(), "127.0.0.1:1") with { OutboundAddress = "no-such-host.invalid" };
        var e = Assert.Throws<ConfigurationException>(() => BalanceEngine.Start(config));
        Assert.Equal(ExitCodes.DataError, e.ExitCode);
        Assert.Equal("no-such-host.invalid", e.Token);
    }

    [Fact]
    public async Task Two_thousand_concurrent_sessions_are_held_and_released()
    {
        const int count = 2000;
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var engine = StartEngine([a.Channel, b.Channel]);
        var clients = new Socket[count];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using var gate = new SemaphoreSlim(64);
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    clients[i] = await LoopbackClient.ConnectAsync(engine.LocalEndPoint);
                    Assert.NotNull(await clients[i].ReadLineAsync());
                }
                finally
                {
                    gate.Release();
                }
            }));

            output.WriteLine($"{count} sessions up in {watch.ElapsedMilliseconds} ms");
            using var control = engine.Control();
            Assert.Equal(count / 2, control.GetChannel(0, 0).Connections);
            Assert.Equal(count / 2, control.GetChannel(0, 1).Connections);
            Assert.Equal(count, a.Open + b.Open);
        }
        finally
        {
            foreach (var c in clients)
            {
                c?.Dispose();
            }
        }

        using var after = engine.Control();
        await Eventually.TrueAsync(() => after.GetChannel(0, 0).Connections == 0 && after.GetChannel(0, 1).Connections == 0, "connections back to 0");
        await Eventually.TrueAsync(() => a.Open + b.Open == 0, "back-end connections closed");
        output.WriteLine($"all closed after {watch.ElapsedMilliseconds} ms");
        Assert.Equal(count, after.GetChannel(0, 0).TotalConnections + after.GetChannel(0, 1).TotalConnections);
        Assert.Equal(count, after.GetInstance().Accepted);
    }
}

/// <summary>The same tests on the runtime's asynchronous socket operations (other systems, <c>BALANCE_IO=runtime</c>).</summary>
public sealed class LifecycleOnRuntimeSocketsTests(Xunit.Abstractions.ITestOutputHelper output) : LifecycleTests(output)
{
    protected override bool RuntimeSockets => true;
}
