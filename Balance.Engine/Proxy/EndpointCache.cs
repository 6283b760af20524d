using System.Net;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// The destination of each channel as an <see cref="IPEndPoint"/>, read again only after the
/// segment's change version moved (assign bumps it once the address is written), so a connect
/// allocates no endpoint.
/// </summary>
internal sealed class EndpointCache
{
    private readonly ControlSegment segment;
    private readonly Entry?[]?[] groups;

    public EndpointCache(ControlSegment segment)
    {
        this.segment = segment;
        groups = new Entry?[]?[segment.MaxGroups];
    }

    public IPEndPoint Get(int group, int channel)
    {
        var entries = Volatile.Read(ref groups[group]);
        if (entries is null)
        {
            Interlocked.CompareExchange(ref groups[group], new Entry?[segment.MaxChannels], null);
            entries = groups[group]!;
        }

        // Read before the address: an assign that lands during the read moves it again.
        var version = Volatile.Read(ref segment.Header.ChangeVersion);
        var entry = Volatile.Read(ref entries[channel]);
        if (entry is not null && entry.Version == version)
        {
            return entry.EndPoint;
        }

        var endpoint = ChannelAddress.ReadNow(segment, group, channel, out _);
        Volatile.Write(ref entries[channel], new Entry(version, endpoint));
        return endpoint;
    }

    private sealed record Entry(int Version, IPEndPoint EndPoint);
}
