using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Tests.CommandLine;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Issue 20 item 1: an engine whose descriptors run short, because its launcher left many open or
/// because its limit is lowered while it runs, keeps serving within what is left, says so once,
/// and serves fully again when descriptors come back. Before: it froze for good (its accept loop
/// waited on a runtime timer whose thread could not start) or crashed.
/// </summary>
public sealed class DescriptorExhaustionTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Inherited_descriptors_under_a_low_limit_are_counted_and_the_engine_serves_on()
    {
        if (!EngineChild.CanLimit)
        {
            return;
        }

        await using var backend = TestBackend.Start("A", BackendMode.Greet);
        using var engine = await EngineChild.StartAsync([backend.Channel], openFiles: 1024, inheritedDescriptors: 301);
        Assert.True(engine.OpenDescriptors() > 301, "the descriptors were not inherited");
        var clients = await ConnectManyAsync(engine.Port, 600);
        try
        {
            await Task.Delay(1500);
            Assert.False(engine.HasExited, engine.Error);
            Assert.True(engine.OpenDescriptors() <= 1024);
        }
        finally
        {
            Close(clients);
        }

        Assert.True(await ServesAsync(engine), engine.Error);
        Assert.Contains("the per-process open-files limit, ulimit -n, is 1024", engine.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("in system", engine.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot open a back-end socket", engine.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lowering_the_limit_of_a_running_engine_caps_its_sessions_and_it_serves_on()
    {
        if (!EngineChild.CanLimit)
        {
            return;
        }

        await using var backend = TestBackend.Start("A", BackendMode.Greet);
        using var engine = await EngineChild.StartAsync([backend.Channel]);
        Assert.True(await ServesAsync(engine), engine.Error); // its workers run: a change from now on is noticed
        engine.SetSoftLimit(120);
        Assert.True(await Loopback.EventuallyAsync(() => engine.Error.Contains("is now 120", StringComparison.Ordinal), Wait), engine.Error);
        var clients = await ConnectManyAsync(engine.Port, 300);
        try
        {
            await Task.Delay(1500);
            Assert.False(engine.HasExited, engine.Error);
            Assert.True(engine.OpenDescriptors() <= 120, string.Join('\n', engine.DescriptorTargets()));
        }
        finally
        {
            Close(clients);
        }

        Assert.True(await ServesAsync(engine), engine.Error);
        Assert.True(Count(engine.Error, "out of descriptors") <= 1, engine.Error);
        Assert.DoesNotContain("cannot open a back-end socket", engine.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_limit_below_what_is_open_is_one_notice_and_accepting_resumes_when_descriptors_return()
    {
        if (!EngineChild.CanLimit)
        {
            return;
        }

        await using var backend = TestBackend.Start("A", BackendMode.Greet);
        using var engine = await EngineChild.StartAsync([backend.Channel]);
        Assert.True(await ServesAsync(engine), engine.Error);
        var open = engine.OpenDescriptors();

        // Below the count every new descriptor fails: accept4 meets EMFILE, whatever the cap says.
        engine.SetSoftLimit(open - 10);
        var clients = await ConnectManyAsync(engine.Port, 100);
        try
        {
            Assert.True(await Loopback.EventuallyAsync(() => engine.Error.Contains("out of descriptors (accept)", StringComparison.Ordinal), Wait), engine.Error);
            await Task.Delay(1500); // back-off rounds meanwhile: still one line
            Assert.False(engine.HasExited, engine.Error);
            Assert.Equal(1, Count(engine.Error, "out of descriptors"));
            Assert.Contains("the per-process open-files limit (ulimit -n, RLIMIT_NOFILE) is " + (open - 10).ToString(CultureInfo.InvariantCulture), engine.Error, StringComparison.Ordinal);
            engine.SetSoftLimit(4096);
        }
        finally
        {
            Close(clients);
        }

        Assert.True(await ServesAsync(engine), engine.Error);
        Assert.False(engine.HasExited);
    }

    private static Task<bool> ServesAsync(EngineChild engine) =>
        Loopback.EventuallyAsync(async () => await Loopback.GreetingAsync(engine.Port, TimeSpan.FromSeconds(3)) == "A", Wait);

    /// <summary>Opens <paramref name="count"/> connections at once; the kernel's backlog completes those the engine does not take yet.</summary>
    private static async Task<List<Socket>> ConnectManyAsync(int port, int count)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        var pending = Enumerable.Range(0, count).Select(_ => LoopbackClient.ConnectAsync(endpoint, timeout: Wait)).ToList();
        var clients = new List<Socket>();
        foreach (var connect in pending)
        {
            try
            {
                clients.Add(await connect);
            }
            catch (Exception e) when (e is SocketException or TimeoutException or OperationCanceledException)
            {
                // A full backlog may refuse a few: the rest still press the engine.
            }
        }

        return clients;
    }

    private static void Close(List<Socket> clients)
    {
        foreach (var c in clients)
        {
            c.Dispose();
        }
    }

    private static int Count(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
