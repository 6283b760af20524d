using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>
/// Several workers behind one endpoint: clients spread over them, and what they share through the
/// segment (maxc, round robin, counters) stays exact under concurrent clients.
/// </summary>
public class WorkerTests
{
    private const int Workers = 4;
    private const int Clients = 8;
    private const int ConnectionsPerClient = 10;
    private const int RequestBytes = 1000;

    [Fact]
    public async Task Connections_spread_over_four_workers_and_maxc_and_counters_stay_exact_under_eight_concurrent_clients()
    {
        using var limited = CountingEcho.Start();
        await using var overflow = TestBackend.Start("B", BackendMode.Echo);
        await using var engine = TestEngine.Start([$"127.0.0.1:{limited.Port}:3", "!", overflow.Channel], c => c with { Workers = Workers });
        Assert.Equal(Workers, engine.WorkerCount);

        var clients = Enumerable.Range(0, Clients).Select(i => Task.Run(() => RunClientAsync(engine.LocalEndPoint, i))).ToArray();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));

        using var control = engine.Control();
        await Eventually.TrueAsync(() => control.GetChannel(0, 0).Connections == 0 && control.GetChannel(1, 0).Connections == 0, "every session ended");
        const int total = Clients * ConnectionsPerClient;
        var a = control.GetChannel(0, 0);
        var b = control.GetChannel(1, 0);
        var instance = control.GetInstance();

        // maxc 3 holds however the clients fall on the workers, and the limit was reached.
        Assert.Equal(3, limited.Peak);
        Assert.Equal(total, instance.Accepted);
        Assert.Equal(0, instance.Rejected);
        Assert.Equal(total, engine.AcceptedPerWorker.Sum());
        if (OperatingSystem.IsLinux())
        {
            // SO_REUSEPORT spreads by address and port: 80 connections miss a worker with odds of 4 in 10^10.
            Assert.All(engine.AcceptedPerWorker, n => Assert.True(n > 0, "a worker accepted nothing: " + string.Join(", ", engine.AcceptedPerWorker)));
        }

        Assert.Equal(total, a.TotalConnections + b.TotalConnections);
        Assert.Equal(limited.Accepted, a.TotalConnections);
        Assert.Equal(overflow.Accepted, b.TotalConnections);
        Assert.True(b.TotalConnections > 0, "eight concurrent clients never overflowed maxc 3");
        Assert.Equal(0, a.Failures + b.Failures);
        Assert.Equal((long)total * RequestBytes, a.BytesSent + b.BytesSent);
        Assert.Equal((long)total * RequestBytes, a.BytesReceived + b.BytesReceived);
        Assert.Equal(limited.BytesReceived + overflow.BytesReceived, a.BytesSent + b.BytesSent);
    }

    [Fact]
    public async Task Round_robin_stays_even_across_workers()
    {
        await using var a = TestBackend.Start("A");
        await using var b = TestBackend.Start("B");
        await using var engine = TestEngine.Start([a.Channel, b.Channel], c => c with { Workers = Workers });
        var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < ConnectionsPerClient; i++)
            {
                Assert.NotNull(await LoopbackClient.GreetingAsync(engine.LocalEndPoint));
            }
        }));
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));

        // Every selection takes the group's shared position like a ticket: the split is exact.
        Assert.Equal(Clients * ConnectionsPerClient / 2, a.Accepted);
        Assert.Equal(Clients * ConnectionsPerClient / 2, b.Accepted);
    }

    [Fact]
    public void A_worker_count_out_of_range_is_refused_by_name()
    {
        var config = TestEngine.Configuration(9000, "127.0.0.1:1") with { Workers = BalanceConfiguration.LimitWorkers + 1 };
        var e = Assert.Throws<ConfigurationException>(config.Validate);
        Assert.Contains("invalid worker count", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_worker_count_means_one_per_cpu_the_process_may_run_on()
    {
        Assert.Equal(Environment.ProcessorCount, new BalanceConfiguration().EffectiveWorkers);
        Assert.Equal(3, new BalanceConfiguration { Workers = 3 }.EffectiveWorkers);
    }

    /// <summary>Connections one after another: each sends a request, reads its echo, holds a moment for overlap, and closes.</summary>
    private static async Task RunClientAsync(IPEndPoint endpoint, int client)
    {
        var request = new byte[RequestBytes];
        for (var i = 0; i < ConnectionsPerClient; i++)
        {
            Array.Fill(request, (byte)((client * ConnectionsPerClient) + i));
            using var socket = await LoopbackClient.ConnectAsync(endpoint);
            await socket.SendAllAsync(request);
            var echo = await socket.ReadExactlyAsync(RequestBytes);
            Assert.Equal(request, echo);
            await Task.Delay(20);
            socket.Shutdown(SocketShutdown.Send);
            Assert.Empty(await socket.ReadToEndAsync());
        }
    }

    /// <summary>
    /// An echo back-end that counts a connection as live from its accept until it reads the
    /// client's end: a span inside the engine's hold on the maxc slot, which ends only after the
    /// back-end's own end arrived. Its peak is thus never above what the engine had reserved.
    /// </summary>
    private sealed class CountingEcho : IDisposable
    {
        private readonly Socket listener;
        private int live;
        private int peak;
        private int accepted;
        private long bytesReceived;

        private CountingEcho(Socket listener)
        {
            this.listener = listener;
        }

        public int Port => ((IPEndPoint)listener.LocalEndPoint!).Port;

        public int Peak => Volatile.Read(ref peak);

        public int Accepted => Volatile.Read(ref accepted);

        public long BytesReceived => Interlocked.Read(ref bytesReceived);

        public static CountingEcho Start()
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Listen(512);
            var echo = new CountingEcho(socket);
            _ = echo.AcceptAsync();
            return echo;
        }

        public void Dispose() => listener.Dispose();

        private async Task AcceptAsync()
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref accepted);
                var now = Interlocked.Increment(ref live);
                for (var seen = Volatile.Read(ref peak); now > seen && Interlocked.CompareExchange(ref peak, now, seen) != seen; seen = Volatile.Read(ref peak))
                {
                }

                _ = EchoAsync(client);
            }
        }

        private async Task EchoAsync(Socket client)
        {
            using (client)
            {
                var buffer = new byte[4096];
                try
                {
                    int n;
                    while ((n = await client.ReceiveAsync(buffer)) > 0)
                    {
                        Interlocked.Add(ref bytesReceived, n);
                        await client.SendAsync(buffer.AsMemory(0, n));
                    }
                }
                catch (SocketException)
                {
                }
                finally
                {
                    Interlocked.Decrement(ref live);
                }

                client.Shutdown(SocketShutdown.Both);
            }
        }
    }
}
