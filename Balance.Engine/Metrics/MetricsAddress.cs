using System.Globalization;
using System.Net;
using Balance.Configuration;

namespace Balance.Metrics;

/// <summary>
/// The address the <c>/metrics</c> endpoint listens on, written <c>address:port</c>
/// (<c>127.0.0.1:9100</c>, <c>[::1]:9100</c>, <c>0.0.0.0:9100</c> for every IPv4 address).
/// Only literals: the endpoint binds exactly where it is told.
/// </summary>
public static class MetricsAddress
{
    /// <summary>Parses <c>address:port</c>; a mistake is a <see cref="ConfigurationException"/> naming the text and the form wanted.</summary>
    public static IPEndPoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IPEndPoint.TryParse(text.Trim(), out var endpoint)
            && endpoint.Port is > 0 and <= 65535
            && HasExplicitPort(text.Trim()))
        {
            return endpoint;
        }

        throw new ConfigurationException(
            $"invalid metrics endpoint [{text}]: give address:port with a literal address, e.g. 127.0.0.1:9100 or [::1]:9100",
            text,
            ExitCodes.Usage);
    }

    /// <summary>The endpoint as <see cref="Parse"/> reads it back.</summary>
    public static string Format(IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return ChannelSpec.FormatDestination(endpoint.Address.ToString(), endpoint.Port);
    }

    /// <summary>
    /// The Host header values a request may carry: the address and, on loopback, "localhost", each
    /// with or without the port; empty (anything goes) for a wildcard address. Another name is
    /// refused, so a web page in a browser on the same machine cannot read the endpoint under a
    /// name of its own (DNS rebinding).
    /// </summary>
    internal static HashSet<string> Hosts(IPEndPoint endpoint)
    {
        var hosts = new HashSet<string>(StringComparer.Ordinal);
        if (endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            return hosts;
        }

        var port = endpoint.Port.ToString(CultureInfo.InvariantCulture);
        var literal = endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + endpoint.Address + "]" : endpoint.Address.ToString();
        string[] names = IPAddress.IsLoopback(endpoint.Address) ? [literal, "localhost"] : [literal];
        foreach (var name in names)
        {
            hosts.Add(name);
            hosts.Add(name + ":" + port);
        }

        return hosts;
    }

    /// <summary>IPEndPoint.TryParse takes a bare address as port 0 (and "::1" as an address); a port must be written.</summary>
    private static bool HasExplicitPort(string text) =>
        text.StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Count(c => c == ':') == 1;
}
