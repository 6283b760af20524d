using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Balance.Tests.CommandLine;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Issue 20, the last gaps of item 1, in the engine process (the class name ends in ProcessTests
/// so the native build runs it too). A signal that arrives while the engine has no free descriptor
/// stops it like <c>balance -c kill</c> (listener closed, grace period, segment removed, exit 0).
/// Before: the runtime's signal callback had to start a thread, which CoreCLR cannot do without a
/// descriptor, and the process ended with exit 70 (an OutOfMemoryException), a segmentation fault
/// or an abort, leaving its segment behind. And the runtime threads that end the process when they
/// cannot start later are running from the start.
/// </summary>
public sealed class OutOfDescriptorsProcessTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    [InlineData("HUP")]
    [InlineData("kill")] // balance -c kill: before, taken but never finished ("shutdown pending")
    public async Task A_signal_or_kill_while_no_descriptor_is_free_stops_the_engine_gracefully(string signal)
    {
        if (!EngineChild.CanLimit)
        {
            return;
        }

        await using var backend = TestBackend.Start("A", BackendMode.Greet);

        // A launcher may leave SIGINT ignored (a background job), and the engine keeps that: give it the default.
        using var engine = await EngineChild.StartAsync([backend.Channel], launcher: signal == "INT" ? ["/usr/bin/env", "--default-signal=INT"] : null);
        Assert.Equal("A", await Loopback.GreetingAsync(engine.Port, Wait));

        // A limit below what is open: no descriptor can be made, by the engine or by the runtime.
        engine.SetSoftLimit(engine.OpenDescriptors() - 10);
        var clients = await ConnectAsync(engine.Port, 50);
        try
        {
            Assert.True(await Loopback.EventuallyAsync(() => engine.Error.Contains("out of descriptors (accept)", StringComparison.Ordinal), Wait), engine.Error);
            Assert.False(engine.HasExited, engine.Error);
            if (signal == "kill")
            {
                var kill = await engine.ControlAsync("kill");
                Assert.True(kill.ExitCode == 0, kill + "\n" + engine.Error);
            }
            else
            {
                engine.Signal(signal);
            }

            var exit = await engine.WaitForExitAsync(Wait);
            Assert.True(exit == 0, $"exit {exit?.ToString(CultureInfo.InvariantCulture) ?? "none: still running"}\n{engine.Error}");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        Assert.False(File.Exists(engine.Name.Path), "the segment was left behind");
        Assert.False(File.Exists(engine.Name.OwnerLockPath), "the owner lock was left behind");
        Assert.DoesNotContain("internal error", engine.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_thread_pools_gate_thread_runs_from_the_start()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // Started on the pool's first work item and kept; under CoreCLR a start that finds no free
        // descriptor is a FailFast ("Failed to create the thread pool Gate thread"). Before: the
        // first back-end connect after the limit was lowered could end the engine so.
        await using var backend = TestBackend.Start("A", BackendMode.Greet);
        using var engine = await EngineChild.StartAsync([backend.Channel]);
        Assert.True(await Loopback.EventuallyAsync(() => engine.Error.Contains("the following channels are active:", StringComparison.Ordinal), Wait), engine.Error); // started, no client yet
        var threads = Directory.GetDirectories($"/proc/{engine.Pid}/task").Select(ThreadName).ToList();
        Assert.True(threads.Contains(".NET TP Gate"), string.Join(", ", threads));
    }

    private static string ThreadName(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).Trim();
        }
        catch (IOException)
        {
            return "(ended)";
        }
    }

    /// <summary>Connections the kernel completes into the engine's backlog; each one the engine tries to accept meets EMFILE.</summary>
    private static async Task<List<Socket>> ConnectAsync(int port, int count)
    {
        var clients = new List<Socket>();
        for (var i = 0; i < count; i++)
        {
            try
            {
                clients.Add(await LoopbackClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: Wait));
            }
            catch (Exception e) when (e is SocketException or TimeoutException or OperationCanceledException)
            {
                // A full backlog may refuse a few: the rest still press the engine.
            }
        }

        return clients;
    }
}
