using System.Net;
using System.Net.Sockets;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// The sockets and descriptors one test opens, closed together when it ends, and the connected
/// loopback pair most socket-level tests start from.
/// </summary>
public sealed class TestSockets : IDisposable
{
    private readonly List<IDisposable> owned = [];

    /// <summary>Closes <paramref name="item"/> with the rest when the test ends.</summary>
    public T Own<T>(T item)
        where T : IDisposable
    {
        owned.Add(item);
        return item;
    }

    /// <summary>A connected IPv4 loopback pair: <c>Mine</c> is the accepted side, <c>Peer</c> the connecting one.</summary>
    public (Socket Mine, Socket Peer) Pair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var peer = Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        peer.Connect(listener.LocalEndPoint!);
        return (Own(listener.Accept()), peer);
    }

    public void Dispose()
    {
        foreach (var item in owned)
        {
            item.Dispose();
        }

        owned.Clear();
    }
}
