using System.Globalization;
using System.Net;

namespace Balance.Configuration;

/// <summary>
/// One back-end as the user wrote it: <c>host[:port[:maxc[:weight]]]</c>, or
/// <c>[v6addr][:port[:maxc[:weight]]]</c>, or a bare IPv6 literal. The weight is a fourth field so
/// every spelling of the original (at most three) keeps its meaning. The host is resolved later,
/// when the engine starts or a control client creates/assigns the channel, so that parsing stays pure.
/// </summary>
public sealed record ChannelSpec(string Host, int Port, int MaxConnections)
{
    /// <summary>The longest host the control segment stores for a channel.</summary>
    public const int MaxHostLength = 95;

    /// <summary>The channel's weight: its share of new clients under weighted policies; 0 takes none (default 1).</summary>
    public int Weight { get; init; } = 1;

    /// <summary>The admin state the channel starts in: enabled unless a layout file says otherwise.</summary>
    public Control.ChannelAdminState AdminState { get; init; } = Control.ChannelAdminState.Enabled;

    /// <summary>The channel's own check settings at start (a layout file's); none by default.</summary>
    public Control.ChannelCheckOverrides CheckOverrides { get; init; } = Control.ChannelCheckOverrides.None;

    /// <summary>The text shown back to users: <c>host:port</c>, with brackets around IPv6 literals.</summary>
    public string Destination => FormatDestination(Host, Port);

    /// <summary>Formats <c>host:port</c> the way <see cref="Destination"/> shows it, bracketing IPv6 literals.</summary>
    public static string FormatDestination(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    /// <summary>Parses a channel token. <paramref name="defaultPort"/> is the listen port, used when the token has none.</summary>
    public static ChannelSpec Parse(string token, int defaultPort)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length == 0)
        {
            throw Bad(token, "a channel cannot be empty; write host[:port[:maxc[:weight]]]");
        }

        string host;
        string rest;
        if (token[0] == '[')
        {
            var close = token.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Bad(token, "an IPv6 address opened with '[' needs a closing ']', e.g. [::1]:9000");
            }

            host = token[1..close];
            rest = token[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':')
            {
                throw Bad(token, "only ':port[:maxc[:weight]]' may follow ']'");
            }

            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                throw Bad(token, $"'{host}' inside brackets is not an IPv6 address");
            }

            rest = rest.Length > 0 ? rest[1..] : string.Empty;
        }
        else if (IsBareIPv6(token))
        {
            // A bare IPv6 literal: there is no way to tell a port from the last group, so none is taken.
            host = token;
            rest = string.Empty;
        }
        else
        {
            var colon = token.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? token : token[..colon];
            rest = colon < 0 ? string.Empty : token[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            throw Bad(token, "the host is missing; write host[:port[:maxc[:weight]]]");
        }

        if (host.Length > MaxHostLength)
        {
            throw Bad(token, $"the host name is longer than {MaxHostLength} characters");
        }

        var parts = rest.Length == 0 ? [] : rest.Split(':');
        if (parts.Length > 3)
        {
            throw Bad(token, "too many ':' fields; write host[:port[:maxc[:weight]]] and put IPv6 addresses in brackets");
        }

        var port = defaultPort;
        if (parts.Length >= 1 && parts[0].Length > 0 && !ServicePorts.TryParse(parts[0], out port))
        {
            throw Bad(token, $"'{parts[0]}' is not a port (1-65535) or a TCP service name");
        }

        var maxc = 0;
        if (parts.Length >= 2 && parts[1].Length > 0
            && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out maxc))
        {
            throw Bad(token, $"'{parts[1]}' is not a connection limit (0 = unlimited, or a positive number)");
        }

        var weight = 1;
        if (parts.Length == 3 && parts[2].Length > 0
            && (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out weight) || weight > Control.ControlClient.MaxWeight))
        {
            throw Bad(token, $"'{parts[2]}' is not a weight (0 = no new connections, up to {Control.ControlClient.MaxWeight})");
        }

        return new ChannelSpec(host, port, maxc) { Weight = weight };
    }

    /// <summary>
    /// With two colons the original's <c>host:port:maxc</c> reading wins whenever it makes sense
    /// (<c>web::5</c>, even <c>a::5</c> where <c>a</c> could be hex); otherwise an IPv6 literal
    /// (<c>::1</c>, <c>fe80::1%1</c>) is taken whole. Brackets always work.
    /// </summary>
    private static bool IsBareIPv6(string token)
    {
        var colons = token.Count(c => c == ':');
        if (colons < 2 || !IPAddress.TryParse(token, out _))
        {
            return false;
        }

        if (colons > 2)
        {
            return true;
        }

        var parts = token.Split(':');
        var readsAsOriginal = parts[0].Length > 0
            && parts[2].Length > 0 && parts[2].All(char.IsAsciiDigit)
            && (parts[1].Length == 0 || ServicePorts.TryParse(parts[1], out _));
        return !readsAsOriginal;
    }

    private static ConfigurationException Bad(string token, string why) =>
        new($"invalid channel [{token}]: {why}", token, ExitCodes.DataError);
}
