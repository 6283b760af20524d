using System.Globalization;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Finds the instance a cmdlet addresses. With a bind address the segment name is exact; without
/// one, the only live instance on the port is meant (there is usually one), and several are an
/// ambiguity the user must settle with -BindAddress rather than a guess.
/// </summary>
internal static class InstanceTarget
{
    public static ControlClient Open(int port, string? bindAddress)
    {
        if (!string.IsNullOrEmpty(bindAddress))
        {
            return ControlClient.Open(bindAddress, port);
        }

        var onPort = ControlClient.ListInstances().Where(i => i.Port == port).ToArray();
        return onPort.Length switch
        {
            0 => ControlClient.Open(null, port),
            1 => ControlClient.Open(onPort[0].BindAddress, port),
            _ => throw new AmbiguousInstanceException(string.Format(
                CultureInfo.InvariantCulture,
                "{0} Balance instances listen on port {1} ({2}); add -BindAddress to choose one",
                onPort.Length,
                port,
                string.Join(", ", onPort.Select(i => i.BindAddress)))),
        };
    }

    /// <summary>
    /// Every instance the user can see, narrowed to <paramref name="port"/> and
    /// <paramref name="bindAddress"/> when given: a query returns each match, never an ambiguity.
    /// A port that matches nothing is opened directly, so the error says why (not running, no access).
    /// </summary>
    public static IReadOnlyList<InstanceInfo> List(int? port, string? bindAddress)
    {
        var normalized = string.IsNullOrEmpty(bindAddress) ? null : SegmentName.NormalizeAddress(bindAddress);
        var matches = ControlClient.ListInstances()
            .Where(i => port is null || i.Port == port)
            .Where(i => normalized is null || string.Equals(i.BindAddress, normalized, StringComparison.OrdinalIgnoreCase))
            .ToArray();
        if (matches.Length > 0 || port is not { } p)
        {
            return matches;
        }

        using var client = ControlClient.Open(bindAddress, p);
        return [client.GetInstance()];
    }

    public static string Endpoint(string bindAddress, int port) =>
        Balance.Configuration.ChannelSpec.FormatDestination(bindAddress, port);
}

/// <summary>Several instances match a port given without a bind address.</summary>
public sealed class AmbiguousInstanceException : Exception
{
    /// <summary>With the standard message, which asks for -BindAddress.</summary>
    public AmbiguousInstanceException()
        : this("several Balance instances match; add -BindAddress to choose one")
    {
    }

    /// <summary>An ambiguous target described by <paramref name="message"/>.</summary>
    public AmbiguousInstanceException(string message)
        : base(message)
    {
    }

    /// <summary>An ambiguous target described by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public AmbiguousInstanceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
