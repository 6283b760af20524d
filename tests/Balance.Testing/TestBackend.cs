using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Balance.Tests.Infrastructure;

/// <summary>What a <see cref="TestBackend"/> does with each connection.</summary>
public enum BackendMode
{
    /// <summary>Sends "&lt;name&gt;\n", then echoes everything back until the peer closes.</summary>
    Greet,

    /// <summary>Echoes everything back until the peer closes.</summary>
    Echo,

    /// <summary>Reads and counts everything, never writes; closes after the peer's end of stream.</summary>
    Sink,

    /// <summary>Reads until the peer shuts down its sending side, then replies "&lt;name&gt;:&lt;bytes read&gt;\n" and closes.</summary>
    ReplyAfterHalfClose,

    /// <summary>Sends "&lt;name&gt;\n", shuts down its own sending side, then reads and counts until the peer closes.</summary>
    GreetThenHalfClose,

    /// <summary>Accepts and holds the connection silently, reading (and counting) until the peer closes.</summary>
    Hold,

    /// <summary>
    /// Reads one request (up to a newline), replies "&lt;name&gt;:&lt;bytes read&gt;\n" and closes at
    /// once, as an HTTP server does with <c>Connection: close</c>: reply and FIN arrive together.
    /// </summary>
    ReplyThenClose,

    /// <summary>Sends "&lt;name&gt;\n" and closes at once, without reading.</summary>
    GreetThenClose,

    /// <summary>Sends "&lt;name&gt;\n", then writes without pause until the peer goes away: holds a relay mid-transfer.</summary>
    Stream,
}

/// <summary>
/// An in-process TCP back-end on loopback that names itself, so a test can tell which channel a
/// connection reached. Records every peer address (to check <c>-B</c>), byte counts and open
/// connections. Dispose closes the listener and every connection.
/// </summary>
public sealed class TestBackend : IAsyncDisposable, IDisposable
{
    private readonly Socket listener;
    private readonly ConcurrentDictionary<Socket, byte> open = new();
    private readonly ConcurrentQueue<IPEndPoint> peers = new();
    private readonly CancellationTokenSource stop = new();
    private int disposed;
    private readonly Task acceptLoop;
    private int accepted;
    private int completed;
    private long bytesReceived;

    private TestBackend(string name, BackendMode mode, Socket listener)
    {
        Name = name;
        Mode = mode;
        this.listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        acceptLoop = AcceptAsync();
    }

    public string Name { get; }

    public BackendMode Mode { get; }

    public IPEndPoint EndPoint { get; }

    public int Port => EndPoint.Port;

    /// <summary>This back-end as a channel word for the balance command line: host:port (IPv6 in brackets).</summary>
    public string Channel => EndPoint.AddressFamily == AddressFamily.InterNetworkV6
        ? string.Create(CultureInfo.InvariantCulture, $"[{EndPoint.Address}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{EndPoint.Address}:{Port}");

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref accepted);

    /// <summary>Connections whose handling has ended (peer closed or failed).</summary>
    public int Completed => Volatile.Read(ref completed);

    /// <summary>Connections open right now.</summary>
    public int Open => open.Count;

    public long BytesReceived => Interlocked.Read(ref bytesReceived);

    /// <summary>Source address and port of every accepted connection, in accept order.</summary>
    public IReadOnlyCollection<IPEndPoint> Peers => peers;

    /// <summary>Starts a back-end on a fresh port of <paramref name="address"/> (default 127.0.0.1).</summary>
    public static TestBackend Start(string name, BackendMode mode = BackendMode.Greet, IPAddress? address = null, int backlog = 4096)
    {
        address ??= IPAddress.Loopback;
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        socket.Listen(backlog);
        return new TestBackend(name, mode, socket);
    }

    /// <summary>Closes everything; a second call (a test that took the back-end away early) does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await stop.CancelAsync();
        listener.Dispose();
        foreach (var s in open.Keys)
        {
            s.Dispose();
        }

        try
        {
            await acceptLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException)
        {
        }

        stop.Dispose();
    }

    /// <summary>
    /// As <see cref="DisposeAsync"/>, for test classes that clean up synchronously. It runs on the
    /// pool, so its continuations never wait for a test framework's context that this call blocks.
    /// </summary>
    public void Dispose() => Task.Run(() => DisposeAsync().AsTask()).GetAwaiter().GetResult();

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref accepted);
            peers.Enqueue((IPEndPoint)client.RemoteEndPoint!);
            open.TryAdd(client, 0);
            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            if (Mode is BackendMode.Greet or BackendMode.GreetThenHalfClose or BackendMode.GreetThenClose or BackendMode.Stream)
            {
                await SendAsync(client, Encoding.ASCII.GetBytes(Name + "\n"));
            }

            if (Mode == BackendMode.GreetThenClose)
            {
                return;
            }

            if (Mode == BackendMode.Stream)
            {
                await StreamAsync(client, buffer);
                return;
            }

            if (Mode == BackendMode.GreetThenHalfClose)
            {
                client.Shutdown(SocketShutdown.Send);
            }

            long total = 0;
            if (Mode == BackendMode.ReplyThenClose)
            {
                total = await ReadRequestAsync(client, buffer);
                await SendAsync(client, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Name}:{total}\n")));
                client.Shutdown(SocketShutdown.Both);
                return;
            }

            while (true)
            {
                var n = await client.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                if (n == 0)
                {
                    break;
                }

                total += n;
                Interlocked.Add(ref bytesReceived, n);
                if (Mode is BackendMode.Greet or BackendMode.Echo)
                {
                    await SendAsync(client, buffer.AsMemory(0, n));
                }
            }

            if (Mode == BackendMode.ReplyAfterHalfClose)
            {
                await SendAsync(client, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Name}:{total}\n")));
            }

            client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            open.TryRemove(client, out _);
            client.Dispose();
            Interlocked.Increment(ref completed);
        }
    }

    private async Task StreamAsync(Socket client, byte[] chunk)
    {
        while (!stop.IsCancellationRequested)
        {
            await SendAsync(client, chunk);
        }
    }

    private async Task<long> ReadRequestAsync(Socket client, byte[] buffer)
    {
        long total = 0;
        while (true)
        {
            var n = await client.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
            total += n;
            Interlocked.Add(ref bytesReceived, n);
            if (n == 0 || buffer.AsSpan(0, n).Contains((byte)'\n'))
            {
                return total;
            }
        }
    }

    private async Task SendAsync(Socket client, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var n = await client.SendAsync(data, SocketFlags.None, stop.Token);
            data = data[n..];
        }
    }
}
