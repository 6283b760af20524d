using System.Net;
using System.Net.Sockets;

namespace BalancePowerShellTests;

public static class FreePort
{
    /// <summary>A port nothing listens on at this moment (and no segment names, being fresh from the OS).</summary>
    public static int Next()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
