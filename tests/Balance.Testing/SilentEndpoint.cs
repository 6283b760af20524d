using System.Net;
using System.Net.Sockets;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// A loopback endpoint where a TCP connect neither succeeds nor is refused: a listener with a
/// backlog of 0 whose accept queue is filled and never drained, so the kernel drops further SYNs
/// and a connect hangs until its timeout. Stays on the machine (no route to anything).
/// </summary>
public sealed class SilentEndpoint : IDisposable
{
    private readonly Socket listener;
    private readonly List<Socket> fillers = [];

    private SilentEndpoint(Socket listener)
    {
        this.listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public string Channel => $"127.0.0.1:{EndPoint.Port}";

    public static async Task<SilentEndpoint> StartAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(0);
        var silent = new SilentEndpoint(socket);
        try
        {
            await silent.FillAsync();
            return silent;
        }
        catch
        {
            silent.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var f in fillers)
        {
            f.Dispose();
        }

        listener.Dispose();
    }

    private async Task FillAsync()
    {
        // Connect until one attempt hangs: from then on the queue is full.
        for (var i = 0; i < 16; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            fillers.Add(filler);
            var connect = filler.ConnectAsync(EndPoint);
            if (await Task.WhenAny(connect, Task.Delay(300)) != connect)
            {
                return;
            }
        }

        throw new InvalidOperationException("the accept queue never filled: cannot simulate a silent back-end");
    }
}
