using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BalancePowerShellTests;

/// <summary>
/// A loopback back-end that names itself: it writes its name on every connection, then either
/// closes or (streaming) keeps writing until the peer goes away, to hold a relay mid-transfer.
/// </summary>
public sealed class TestBackend : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting;
    private readonly bool streaming;

    public TestBackend(string name, bool streaming = false)
    {
        Name = name;
        this.streaming = streaming;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = Task.Run(AcceptAsync);
    }

    public string Name { get; }

    public int Port { get; }

    public string Destination => "127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        accepting.Wait(TimeSpan.FromSeconds(5));
        stop.Dispose();
    }

    /// <summary>Connects to <paramref name="port"/> and returns the first line the far end writes (empty when it closes at once).</summary>
    public static async Task<string> AskAsync(int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadLineAsync(timeout.Token) ?? string.Empty;
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes(Name + "\n"), stop.Token);
                var chunk = new byte[64 * 1024];
                while (streaming && !stop.IsCancellationRequested)
                {
                    await socket.SendAsync(chunk, stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
