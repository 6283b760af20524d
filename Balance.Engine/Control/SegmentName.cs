using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Balance.Control;

/// <summary>
/// Where the control segment of an instance lives. One segment per listen endpoint; the address is
/// normalised first, so <c>-b localhost</c> and <c>-b 127.0.0.1</c> reach the same instance (the
/// original keyed on the literal text and treated them as two).
/// </summary>
public sealed record SegmentName(string NormalizedAddress, int Port, string Path)
{
    internal const string FilePrefix = "balance.";
    internal const string SegmentSuffix = ".seg";

    /// <summary>
    /// Created by the engine at start; its byte 0 is locked by the engine for its whole life (the
    /// liveness proof), its byte 1 briefly by whoever makes a structural change (<see cref="FileLock"/>).
    /// </summary>
    public string OwnerLockPath => Path + ".owner";

    /// <summary>
    /// The control lock file of earlier builds, and still of platforms without byte locks; on Linux
    /// the control lock is byte 1 of <see cref="OwnerLockPath"/>, so this name is never created there.
    /// </summary>
    public string ControlLockPath => Path + ".ctl";

    /// <summary>tmpfs when the system has it, so the mapping never touches a disk; else the temp folder.</summary>
    public static string Directory
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("BALANCE_SEGMENT_DIR");
            if (!string.IsNullOrEmpty(overridden))
            {
                return overridden;
            }

            return !OperatingSystem.IsWindows() && System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        }
    }

    /// <summary>The segment of the instance listening on <paramref name="bindAddress"/> (null = every address) and <paramref name="port"/>; resolves a host name.</summary>
    public static SegmentName For(string? bindAddress, int port, bool ipv6 = false)
    {
        var normalized = NormalizeAddress(bindAddress, ipv6);
        return FromNormalized(normalized, port);
    }

    internal static SegmentName FromNormalized(string normalizedAddress, int port)
    {
        var file = string.Create(CultureInfo.InvariantCulture, $"{FilePrefix}{port}.{normalizedAddress.Replace('%', '_')}{SegmentSuffix}");
        return new SegmentName(normalizedAddress, port, System.IO.Path.Combine(Directory, file));
    }

    /// <summary>
    /// The canonical text of a listen address: a literal in its shortest form, a host name resolved
    /// to its first address (IPv4 preferred unless <paramref name="ipv6"/>), no address = the wildcard.
    /// </summary>
    public static string NormalizeAddress(string? bindAddress, bool ipv6 = false)
    {
        var address = ResolveListenAddress(bindAddress, ipv6);
        return address.ToString();
    }

    /// <summary>Resolves a <c>-b</c> value; throws <see cref="Configuration.ConfigurationException"/> naming it when it cannot be used.</summary>
    public static IPAddress ResolveListenAddress(string? bindAddress, bool ipv6)
    {
        if (string.IsNullOrEmpty(bindAddress))
        {
            return ipv6 ? IPAddress.IPv6Any : IPAddress.Any;
        }

        var text = bindAddress.Length > 2 && bindAddress[0] == '[' && bindAddress[^1] == ']' ? bindAddress[1..^1] : bindAddress;
        if (IPAddress.TryParse(text, out var literal))
        {
            if (ipv6 && literal.AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw new Configuration.ConfigurationException(
                    $"invalid listen address [{bindAddress}]: -6 asks for IPv6 but this is an IPv4 address; drop -6 or give an IPv6 address",
                    bindAddress,
                    Configuration.ExitCodes.OsError);
            }

            return literal;
        }

        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(text);
        }
        catch (SocketException e)
        {
            throw new Configuration.ConfigurationException(
                $"invalid listen address [{bindAddress}]: {e.Message}", bindAddress, Configuration.ExitCodes.OsError);
        }

        var pick = ipv6
            ? found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6)
            : found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.FirstOrDefault();
        return pick ?? throw new Configuration.ConfigurationException(
            $"invalid listen address [{bindAddress}]: the name has no {(ipv6 ? "IPv6" : "usable")} address",
            bindAddress,
            Configuration.ExitCodes.OsError);
    }

    /// <summary>Parses a segment file name back into address and port; null for files that are not segments.</summary>
    public static SegmentName? TryParseFile(string path)
    {
        var file = System.IO.Path.GetFileName(path);
        if (!file.StartsWith(FilePrefix, StringComparison.Ordinal) || !file.EndsWith(SegmentSuffix, StringComparison.Ordinal))
        {
            return null;
        }

        var core = file[FilePrefix.Length..^SegmentSuffix.Length];
        var dot = core.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !int.TryParse(core.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return null;
        }

        return new SegmentName(core[(dot + 1)..], port, path);
    }
}
