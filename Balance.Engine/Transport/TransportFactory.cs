using System.Net.Sockets;
using Balance.Configuration;
using Balance.Proxy;
using Balance.Transport.Epoll;
using Balance.Transport.Sockets;

namespace Balance.Transport;

/// <summary>
/// Picks a worker's transport: the epoll transport where it runs (Linux x86-64) and nobody asked
/// for the runtime's sockets, else the sockets transport, which is also the fallback when the
/// epoll loop cannot be made. The only place that chooses between them.
/// </summary>
internal static class TransportFactory
{
    /// <summary>The environment variable that asks for the sockets transport.</summary>
    internal const string IoVariable = "BALANCE_IO";

    /// <summary>
    /// True when <c>BALANCE_IO=runtime</c> asks for the runtime's socket operations; unset or
    /// empty means the engine's loop where there is one. Any other value is refused, so a typo
    /// never goes unnoticed behind a silent default.
    /// </summary>
    public static bool RuntimeSocketsRequested()
    {
        var value = Environment.GetEnvironmentVariable(IoVariable);
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        if (string.Equals(value, "runtime", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        throw new ConfigurationException(
            $"{IoVariable}={value} is not known: unset it (the engine's own epoll loop where there is one) or set it to 'runtime'",
            IoVariable);
    }

    /// <summary>
    /// A started transport for a worker that may hold <paramref name="descriptors"/> descriptors
    /// (null = no known limit). <paramref name="runtimeSockets"/> asks for the sockets transport.
    /// </summary>
    public static ITransport Start(bool runtimeSockets, long? descriptors, TextWriter? dump, Action<int, int, string> reportError)
    {
        if (!runtimeSockets && EpollTransport.IsSupported)
        {
            var pipes = DescriptorLimit.SplicePipes(descriptors);
            var capacity = (2 * DescriptorLimit.MaxSessions(descriptors, pipes)) + 64;
            var epoll = new EpollTransport(capacity, pipes, dump, reportError);
            try
            {
                epoll.Start();
                return epoll;
            }
            catch (SocketException)
            {
                // No descriptor for the loop: the portable transport serves instead.
            }
        }

        var sockets = new SocketsTransport(dump);
        sockets.Start();
        return sockets;
    }
}
