using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;

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
        Selector = new ChannelSelector(segment);
    }

    public ControlSegment Segment { get; }

    /// <summary>The failover walk over this segment, as an engine holds it.</summary>
    public ChannelSelector Selector { get; }

    public BalanceConfiguration Configuration { get; }

    /// <summary>Groups as on the balance command line, e.g. "a:1", "b:2", "%", "c:3".</summary>
    public static BenchSegment Create(params string[] words)
    {
        var path = Path.Combine(Path.GetTempPath(), $"balance-bench-{Guid.NewGuid():N}.seg");
        var config = new BalanceConfiguration { Port = 9, Groups = GroupSpec.ParseList(words, 9) }.WithLimitsSized();
        var segment = ControlSegment.Create(new SegmentName("127.0.0.1", 9, path), config);
        ConfigurationWriter.Write(segment, config, config.Groups.Select(g => g.Channels.Select(_ => IPAddress.Loopback).ToArray()).ToArray());

        return new BenchSegment(segment, config, path);
    }

    public void Dispose()
    {
        Segment.Dispose();
        File.Delete(path);
    }
}
