using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// An HTTP/1.1 keep-alive server on loopback that answers every request with a short body and
/// counts them; given a shared arrival log, it adds its name and the time to it for each request.
/// Each connection has its own thread with blocking calls: a test that blocks pool threads while
/// it waits for a client process must not delay the answers (the client measures their timing).
/// </summary>
public sealed class KeepAliveResponder : IDisposable
{
    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"u8.ToArray();
    private readonly Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly ConcurrentBag<Socket> accepted = [];
    private readonly ConcurrentQueue<(string Name, long Timestamp)>? arrivals;
    private readonly string name;
    private int requests;

    public KeepAliveResponder(ConcurrentQueue<(string Name, long Timestamp)>? arrivals = null, string name = "")
    {
        this.arrivals = arrivals;
        this.name = name;
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        new Thread(Accept) { IsBackground = true, Name = "responder accept" }.Start();
    }

    public int Port { get; }

    public int Requests => Volatile.Read(ref requests);

    public void Dispose()
    {
        listener.Dispose();
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
    }

    private void Accept()
    {
        try
        {
            while (true)
            {
                var socket = listener.Accept();
                accepted.Add(socket);
                new Thread(() => Serve(socket)) { IsBackground = true, Name = "responder connection" }.Start();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private void Serve(Socket socket)
    {
        using (socket)
        {
            var buffer = new byte[4096];
            var pending = 0;
            try
            {
                while (true)
                {
                    var n = socket.Receive(buffer, pending, buffer.Length - pending, SocketFlags.None);
                    if (n == 0)
                    {
                        return;
                    }

                    pending += n;
                    int end;
                    while ((end = buffer.AsSpan(0, pending).IndexOf("\r\n\r\n"u8)) >= 0)
                    {
                        Interlocked.Increment(ref requests);
                        arrivals?.Enqueue((name, Stopwatch.GetTimestamp()));
                        socket.Send(Response);
                        var rest = pending - end - 4;
                        buffer.AsSpan(end + 4, rest).CopyTo(buffer);
                        pending = rest;
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
