using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// A control segment in a private temporary file, filled like an engine would fill it (channels
/// enabled, addresses 127.0.0.1:port), for unit tests of code that reads segment state. No
/// engine and no owner lock; the file is deleted on dispose. Benchmarks use it too.
/// </summary>
public sealed class TestSegment : IDisposable
{
    private readonly string path;
    private ChannelSelector? selector;

    private TestSegment(ControlSegment segment, BalanceConfiguration configuration, string path)
    {
        Segment = segment;
        Configuration = configuration;
        this.path = path;
    }

    public ControlSegment Segment { get; }

    /// <summary>The configuration the segment was filled from.</summary>
    public BalanceConfiguration Configuration { get; }

    /// <summary>The failover walk over this segment, as an engine holds it (made on first use).</summary>
    internal ChannelSelector Selector => selector ??= new ChannelSelector(Segment);

    /// <summary>Groups as on the balance command line, e.g. "a:1", "b:2:1", "!", "c:3", "%".</summary>
    public static TestSegment Create(params string[] words)
    {
        var path = Path.Combine(Path.GetTempPath(), $"balance-test-{Guid.NewGuid():N}.seg");
        var config = new BalanceConfiguration { Port = 9, Groups = GroupSpec.ParseList(words, 9) }.WithLimitsSized();
        var segment = ControlSegment.Create(new SegmentName("127.0.0.1", 9, path), config);
        ConfigurationWriter.Write(segment, config, config.Groups.Select(g => g.Channels.Select(_ => IPAddress.Loopback).ToArray()).ToArray());

        return new TestSegment(segment, config, path);
    }

    public void Dispose()
    {
        Segment.Dispose();
        File.Delete(path);
    }
}
