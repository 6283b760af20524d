using System.Net;
using System.Net.Sockets;
using Balance.Configuration;

namespace Balance.Proxy;

/// <summary>
/// The <c>-B</c> source address for back-end connections, resolved once at start: one address per
/// family, applied to a back-end socket of the same family only.
/// </summary>
internal sealed class OutboundBinding
{
    public static readonly OutboundBinding None = new(null, null);

    private OutboundBinding(IPEndPoint? v4, IPEndPoint? v6)
    {
        V4 = v4;
        V6 = v6;
    }

    public IPEndPoint? V4 { get; }

    public IPEndPoint? V6 { get; }

    public static OutboundBinding Resolve(string? address)
    {
        if (string.IsNullOrEmpty(address))
        {
            return None;
        }

        var text = address.Length > 2 && address[0] == '[' && address[^1] == ']' ? address[1..^1] : address;
        IPAddress[] found;
        if (IPAddress.TryParse(text, out var literal))
        {
            found = [literal];
        }
        else
        {
            try
            {
                found = Dns.GetHostAddresses(text);
            }
            catch (Exception e) when (e is SocketException or ArgumentException)
            {
                throw Bad(address, e.Message);
            }
        }

        var v4 = found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
        var v6 = found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6);
        if (v4 is null && v6 is null)
        {
            throw Bad(address, "the name has no address");
        }

        return new OutboundBinding(v4 is null ? null : new IPEndPoint(v4, 0), v6 is null ? null : new IPEndPoint(v6, 0));
    }

    public IPEndPoint? For(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? V6 : V4;

    private static ConfigurationException Bad(string address, string why) =>
        new($"unknown or invalid address [{address}] for -B (outgoing source address): {why}", address, ExitCodes.DataError);
}
