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
    /// The HttpListener prefixes for the endpoint. The listener binds to the prefix's address and
    /// answers only requests whose Host names it, so a loopback address also takes "localhost"
    /// (what a local Prometheus target usually says); a wildcard takes any host.
    /// </summary>
    internal static IReadOnlyList<string> Prefixes(IPEndPoint endpoint)
    {
        var port = endpoint.Port.ToString(CultureInfo.InvariantCulture);
        var host = Host(endpoint.Address);
        return IPAddress.IsLoopback(endpoint.Address) && host != "+"
            ? [$"http://{host}:{port}/", $"http://localhost:{port}/"]
            : [$"http://{host}:{port}/"];
    }

    private static string Host(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "+"
        : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + address + "]"
        : address.ToString();

    /// <summary>IPEndPoint.TryParse takes a bare address as port 0 (and "::1" as an address); a port must be written.</summary>
    private static bool HasExplicitPort(string text) =>
        text.StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Count(c => c == ':') == 1;
}
