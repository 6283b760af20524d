using System.Net;
using System.Net.Sockets;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// Ephemeral ports for tests that must name a port up front (the engine takes 1-65535, not 0).
/// The kernel picks a port nobody holds; another process could take it before the caller binds,
/// so callers that bind it themselves should retry on "address in use" (see <see cref="TestEngine"/>).
/// </summary>
public static class FreePort
{
    /// <summary>A port that was free on <paramref name="address"/> (default 127.0.0.1) a moment ago.</summary>
    public static int Next(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
