using System.Globalization;

namespace Balance.Configuration;

/// <summary>
/// Turns a port token into a number: decimal, or a TCP service name from the services database,
/// as the original accepted (<c>http</c> is 80). Unlike the original's atoi, trailing garbage
/// ("80abc") is an error, because silently taking 80 hides typos.
/// </summary>
internal static class ServicePorts
{
    private const string ServicesFile = "/etc/services";
    private static readonly Lazy<Dictionary<string, int>> Services = new(LoadServices);

    public static bool TryParse(string token, out int port)
    {
        port = 0;
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        if (char.IsAsciiDigit(token[0]))
        {
            return int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out port)
                && port is >= 1 and <= 65535;
        }

        return Services.Value.TryGetValue(token, out port);
    }

    private static Dictionary<string, int> LoadServices()
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!File.Exists(ServicesFile))
        {
            return map;
        }

        foreach (var raw in File.ReadLines(ServicesFile))
        {
            var line = raw;
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }

            var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2)
            {
                continue;
            }

            var slash = words[1].IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || !words[1].AsSpan(slash + 1).Equals("tcp", StringComparison.Ordinal)
                || !int.TryParse(words[1].AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
            {
                continue;
            }

            foreach (var name in words.AsSpan(0, 1).ToArray().Concat(words.Skip(2)))
            {
                map.TryAdd(name, port);
            }
        }

        return map;
    }
}
