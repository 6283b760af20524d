using System.Net;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// The destination of each channel as an <see cref="IPEndPoint"/>, rebuilt only when the channel's
/// address version in the segment changes (assign), so a connect allocates no endpoint.
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

        var version = Volatile.Read(ref segment.Channel(group, channel).AddressVersion);
        var entry = Volatile.Read(ref entries[channel]);
        if (entry is not null && entry.Version == version && (version & 1) == 0)
        {
            return entry.EndPoint;
        }

        var endpoint = ChannelAddress.Read(segment, group, channel, out var read);
        Volatile.Write(ref entries[channel], new Entry(read, endpoint));
        return endpoint;
    }

    private sealed record Entry(int Version, IPEndPoint EndPoint);
}
