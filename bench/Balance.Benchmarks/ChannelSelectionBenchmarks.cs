using BenchmarkDotNet.Attributes;
using Balance.Control;
using Balance.Policies;

namespace Balance.Benchmarks;

/// <summary>
/// What accepting a connection pays to pick its channel: the selector reads the live segment,
/// reserves a slot by compare-and-swap and moves the round-robin position; the release is what the
/// end of the session pays. Round robin over 2 channels (the benchmark set-up), over 64 with all
/// but the last one disabled (worst-case scan), and a hash group.
/// </summary>
[MemoryDiagnoser]
public class ChannelSelectionBenchmarks
{
    private TestSegment roundRobin = null!;
    private TestSegment mostlyDisabled = null!;
    private TestSegment hashed = null!;
    private uint hash;

    [GlobalSetup]
    public void Setup()
    {
        roundRobin = TestSegment.Create("a:1", "b:2");
        var many = Enumerable.Range(1, 64).Select(i => $"h{i}:{i}").ToArray();
        mostlyDisabled = TestSegment.Create(many);
        for (var c = 0; c < 63; c++)
        {
            mostlyDisabled.Segment.Channel(0, c).AdminState = ChannelAdminState.Disabled;
        }

        hashed = TestSegment.Create("a:1", "b:2", "c:3", "d:4", "%");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        roundRobin.Dispose();
        mostlyDisabled.Dispose();
        hashed.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int RoundRobinTwoChannels() => SelectAndRelease(roundRobin, 0);

    [Benchmark]
    public int RoundRobinScan64() => SelectAndRelease(mostlyDisabled, 0);

    [Benchmark]
    public int HashFourChannels() => SelectAndRelease(hashed, unchecked(hash += 0x9E3779B9u));

    private static int SelectAndRelease(TestSegment t, uint clientHash)
    {
        var choice = t.Selector.Select(0, clientHash, hashFailover: false, debug: null);
        ChannelSelector.Release(ref t.Segment.Record(choice.Group, choice.Channel));
        return choice.Channel;
    }
}
