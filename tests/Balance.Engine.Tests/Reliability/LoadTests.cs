using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Balance.Tests.Reliability;

/// <summary>
/// 10,000 sessions open at once, every one echoing byte-exact. A session costs an engine two
/// descriptors and no process here may hold more than 20,000 (the hard limit cannot be raised in
/// this sandbox), so the sessions are spread over two engine processes of 5,000 each; this process
/// holds the 10,000 client ends and a small echo process (python3, standard library only) the
/// 10,000 back-end ends.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    private const int Sessions = 10_000;

    private const string EchoScript = """
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=8192)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
""";

    [Fact]
    [Trait("Category", "Load")]
    public async Task Ten_thousand_concurrent_sessions_echo_byte_exact_and_are_all_released()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/python3"))
        {
            return; // The echo process needs python3 (Debian ships it).
        }

        var watch = Stopwatch.StartNew();
        using var echo = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", EchoScript])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            var echoPort = int.Parse((await echo.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)))!, CultureInfo.InvariantCulture);
            var channel = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{echoPort}");
            using var first = await EngineChild.StartAsync([channel]);
            using var second = await EngineChild.StartAsync([channel]);
            EngineChild[] engines = [first, second];
            var clients = new Socket[Sessions];
            try
            {
                await ForEachAsync(async i =>
                {
                    var endpoint = new IPEndPoint(IPAddress.Loopback, engines[i % 2].Port);
                    clients[i] = await LoopbackClient.ConnectAsync(endpoint, timeout: TimeSpan.FromSeconds(30));
                    await EchoAsync(clients[i], i, "open");
                });
                output.WriteLine($"{Sessions} sessions open after {watch.Elapsed.TotalSeconds:F1} s");

                // All open at once: the engines count every one, and every one still answers.
                foreach (var engine in engines)
                {
                    Assert.Equal(Sessions / 2, await LiveSessionsAsync(engine));
                }

                await ForEachAsync(i => EchoAsync(clients[i], i, "held"));
                output.WriteLine($"second round after {watch.Elapsed.TotalSeconds:F1} s; engine descriptors {first.OpenDescriptors()}, rss {first.ResidentKiB()} KiB");
            }
            finally
            {
                foreach (var c in clients)
                {
                    c?.Dispose();
                }
            }

            foreach (var engine in engines)
            {
                Assert.True(await CommandLine.Loopback.EventuallyAsync(async () => await LiveSessionsAsync(engine) == 0, TimeSpan.FromSeconds(30)), "sessions still live");
                Assert.False(engine.HasExited, engine.Error);
            }

            output.WriteLine($"all released after {watch.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            echo.StandardInput.Close(); // the echo process exits at end of input
            if (!echo.WaitForExit(5000))
            {
                echo.Kill();
            }
        }
    }

    private static async Task<int> LiveSessionsAsync(EngineChild engine)
    {
        var show = await engine.ControlAsync("show");
        return int.Parse(show.Output.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[6], CultureInfo.InvariantCulture);
    }

    private static async Task EchoAsync(Socket socket, int index, string round)
    {
        var message = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{round}:{index:D5}:{new string((char)('a' + (index % 26)), 40)}\n"));
        await socket.SendAllAsync(message, TimeSpan.FromSeconds(30));
        var back = await socket.ReadExactlyAsync(message.Length, TimeSpan.FromSeconds(30));
        Assert.Equal(message, back);
    }

    private static async Task ForEachAsync(Func<int, Task> body)
    {
        using var gate = new SemaphoreSlim(256);
        await Task.WhenAll(Enumerable.Range(0, Sessions).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                await body(i);
            }
            finally
            {
                gate.Release();
            }
        }));
    }
}
