using System.Net;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Benchmarks;

/// <summary>
/// A control segment in a private temporary file, filled the way the engine fills it (every channel
/// enabled at 127.0.0.1:port), for benchmarks of code that reads live segment state.
/// </summary>
internal sealed class BenchSegment : IDisposable
{
    private readonly string path;

    private BenchSegment(ControlSegment segment, BalanceConfiguration configuration, string path)
    {
        Segment = segment;
        Configuration = configuration;
        this.path = path;
    }

    public ControlSegment Segment { get; }

    public BalanceConfiguration Configuration { get; }

    /// <summary>Groups as on the balance command line, e.g. "a:1", "b:2", "%", "c:3".</summary>
    public static BenchSegment Create(params string[] words)
    {
        var path = Path.Combine(Path.GetTempPath(), $"balance-bench-{Guid.NewGuid():N}.seg");
        var config = new BalanceConfiguration { Port = 9, Groups = GroupSpec.ParseList(words, 9) }.WithLimitsSized();
        var segment = ControlSegment.Create(new SegmentName("127.0.0.1", 9, path), config);
        for (var g = 0; g < config.Groups.Count; g++)
        {
            var spec = config.Groups[g];
            segment.Group(g).Type = (int)spec.Type;
            for (var c = 0; c < spec.Channels.Count; c++)
            {
                ChannelAddress.Write(segment, g, c, spec.Channels[c].Host, IPAddress.Loopback, spec.Channels[c].Port);
                segment.Channel(g, c).MaxConnections = spec.Channels[c].MaxConnections;
                segment.Channel(g, c).Enabled = 1;
            }

            segment.Group(g).ChannelCount = spec.Channels.Count;
        }

        return new BenchSegment(segment, config, path);
    }

    public void Dispose()
    {
        Segment.Dispose();
        File.Delete(path);
    }
}
