using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.CommandLine;

/// <summary>A loopback back-end that greets every client with its name, then echoes.</summary>
public sealed class NamedBackend : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();

    public NamedBackend(string name)
    {
        Name = name;
        listener.Start();
        _ = AcceptLoop();
    }

    public string Name { get; }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public string Channel => "127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(stop.Token);
                _ = Serve(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes(Name + "\n"), stop.Token);
                var buffer = new byte[4096];
                int n;
                while ((n = await stream.ReadAsync(buffer, stop.Token)) > 0)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, n), stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
    }
}

/// <summary>Loopback helpers with bounded waits.</summary>
public static class Loopback
{
    /// <summary>A port nobody listens on right now (the OS picks it, then it is released).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Connects and reads the back-end's greeting line; null when nothing answers.</summary>
    public static async Task<string?> GreetingAsync(int port, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancel.Token);
            using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
            return await reader.ReadLineAsync(cancel.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the time is up (<see cref="Eventually.HoldsAsync"/>).</summary>
    public static Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return Eventually.HoldsAsync(() => Task.FromResult(condition()), timeout);
    }

    /// <summary>As above, for a check that is itself asynchronous.</summary>
    public static Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout) => Eventually.HoldsAsync(condition, timeout);
}
