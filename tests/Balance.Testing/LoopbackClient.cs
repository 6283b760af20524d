using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Balance.Tests.Infrastructure;

/// <summary>Client-side helpers with bounded waits: connect (optionally from a chosen source address), read lines, read to end.</summary>
public static class LoopbackClient
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Connects to <paramref name="target"/>, from <paramref name="source"/> (e.g. 127.0.0.7) when given.</summary>
    public static async Task<Socket> ConnectAsync(IPEndPoint target, IPAddress? source = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
            await socket.ConnectAsync(target, cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads one line (without its '\n'); null at end of stream before any byte.</summary>
    public static async Task<string?> ReadLineAsync(this Socket socket, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            var n = await socket.ReceiveAsync(one, SocketFlags.None, cts.Token);
            if (n == 0)
            {
                return line.Count == 0 ? null : Encoding.ASCII.GetString(line.ToArray());
            }

            if (one[0] == (byte)'\n')
            {
                return Encoding.ASCII.GetString(line.ToArray());
            }

            line.Add(one[0]);
        }
    }

    /// <summary>Reads until the peer ends the stream.</summary>
    public static async Task<byte[]> ReadToEndAsync(this Socket socket, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0)
            {
                return all.ToArray();
            }

            all.Write(buffer, 0, n);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public static async Task<byte[]> ReadExactlyAsync(this Socket socket, int count, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var data = new byte[count];
        var got = 0;
        while (got < count)
        {
            var n = await socket.ReceiveAsync(data.AsMemory(got), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"stream ended after {got} of {count} bytes");
            }

            got += n;
        }

        return data;
    }

    public static async Task SendAllAsync(this Socket socket, ReadOnlyMemory<byte> data, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, SocketFlags.None, cts.Token);
            data = data[n..];
        }
    }

    public static Task SendAllAsync(this Socket socket, string text, TimeSpan? timeout = null) =>
        socket.SendAllAsync(Encoding.ASCII.GetBytes(text), timeout);

    /// <summary>Connects, reads the greeting line (the back-end's name), and closes: which channel did a new client reach?</summary>
    public static async Task<string?> GreetingAsync(IPEndPoint target, IPAddress? source = null)
    {
        using var socket = await ConnectAsync(target, source);
        return await socket.ReadLineAsync();
    }

    /// <summary>As above, for a listener on 127.0.0.1:<paramref name="port"/>.</summary>
    public static Task<string?> GreetingAsync(int port) => GreetingAsync(new IPEndPoint(IPAddress.Loopback, port));
}
