using System.Net;
using BenchmarkDotNet.Attributes;
using Balance.Control;
using Balance.Policies;

namespace Balance.Benchmarks;

/// <summary>
/// What accepting a connection pays to pick its channel under each policy, through the whole walk
/// (view filled from the live segment, pick, slot reserved by compare-and-swap, released): five
/// channels of weights 1..5 for weighted round robin, least connections and Maglev, Maglev with its
/// busiest channel down (the probe path), and Maglev over 64 channels.
/// </summary>
[MemoryDiagnoser]
public class PolicySelectionBenchmarks
{
    private TestSegment roundRobin = null!;
    private TestSegment weighted = null!;
    private TestSegment leastConnections = null!;
    private TestSegment maglev = null!;
    private TestSegment maglevOneDown = null!;
    private TestSegment maglev64 = null!;
    private ulong[] keys = null!;
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        string[] five = ["a:1", "b:2", "c:3", "d:4", "e:5"];
        roundRobin = Group(PolicyCatalog.RoundRobin, five);
        weighted = Group(PolicyCatalog.WeightedRoundRobin, five);
        leastConnections = Group(PolicyCatalog.LeastConnections, five);
        maglev = Group(PolicyCatalog.Maglev, five);
        maglevOneDown = Group(PolicyCatalog.Maglev, five);
        maglevOneDown.Segment.Channel(0, 4).Health = ChannelHealth.Down;
        maglev64 = Group(PolicyCatalog.Maglev, Enumerable.Range(1, 64).Select(i => $"h{i}:{i}").ToArray());
        keys = Enumerable.Range(0, 4096).Select(i => ClientHash.Key(new IPAddress(0x0100000Au + (uint)i))).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { roundRobin, weighted, leastConnections, maglev, maglevOneDown, maglev64 })
        {
            t.Dispose();
        }
    }

    [Benchmark(Baseline = true)]
    public int RoundRobinFive() => SelectAndRelease(roundRobin, 0);

    [Benchmark]
    public int WeightedRoundRobinFive() => SelectAndRelease(weighted, 0);

    [Benchmark]
    public int LeastConnectionsFive() => SelectAndRelease(leastConnections, 0);

    [Benchmark]
    public int MaglevFive() => SelectAndRelease(maglev, NextKey());

    [Benchmark]
    public int MaglevFiveOneDown() => SelectAndRelease(maglevOneDown, NextKey());

    [Benchmark]
    public int Maglev64() => SelectAndRelease(maglev64, NextKey());

    /// <summary>A group of <paramref name="words"/> under <paramref name="policy"/>, weights 1, 2, 3, ... in order.</summary>
    internal static TestSegment Group(int policy, string[] words)
    {
        var t = TestSegment.Create(words);
        for (var c = 0; c < words.Length; c++)
        {
            t.Segment.Channel(0, c).Weight = Math.Min(c + 1, ControlClient.MaxWeight);
        }

        t.Segment.Group(0).Policy = policy;
        Interlocked.Increment(ref t.Segment.Header.ChangeVersion);
        return t;
    }

    private ulong NextKey() => keys[next++ & 4095];

    private static int SelectAndRelease(TestSegment t, ulong clientKey)
    {
        var choice = t.Selector.Select(0, 0, clientKey, hashFailover: false, debug: null);
        ChannelSelector.Release(ref t.Segment.Record(choice.Group, choice.Channel));
        return choice.Channel;
    }
}

/// <summary>
/// What a change costs a group with a per-group table (off the per-pick path: once per move of the
/// change version, by the first pick that sees it): Maglev over 5, 64 and 4,096 channels (weights
/// 1..n, capped at 256), the weighted round-robin schedule over 64 channels (weights 1..64) and
/// over 4,096 channels of weights 1..4 and of weights 1..256 (its worst case: 256 distinct weights).
/// </summary>
[MemoryDiagnoser]
public class PolicyBuildBenchmarks
{
    private ChannelCandidate[] five = null!;
    private ChannelCandidate[] sixtyFour = null!;
    private ChannelCandidate[] large = null!;
    private ChannelCandidate[] largeFewWeights = null!;

    [GlobalSetup]
    public void Setup()
    {
        five = Candidates(5);
        sixtyFour = Candidates(64);
        large = Candidates(4096);
        largeFewWeights = large.Select(c => c with { Weight = (c.Index % 4) + 1 }).ToArray();
    }

    [Benchmark]
    public object MaglevTableFive() => MaglevPolicy.Instance.ForGroup(five, null);

    [Benchmark]
    public object MaglevTable64() => MaglevPolicy.Instance.ForGroup(sixtyFour, null);

    [Benchmark]
    public object MaglevTable4096() => MaglevPolicy.Instance.ForGroup(large, null);

    [Benchmark]
    public object SmoothSchedule64() => WeightedRoundRobinPolicy.Instance.ForGroup(sixtyFour, null);

    [Benchmark]
    public object SmoothSchedule4096FourWeights() => WeightedRoundRobinPolicy.Instance.ForGroup(largeFewWeights, null);

    [Benchmark]
    public object SmoothSchedule4096AllWeights() => WeightedRoundRobinPolicy.Instance.ForGroup(large, null);

    private static ChannelCandidate[] Candidates(int count) =>
        Enumerable.Range(0, count).Select(i => new ChannelCandidate(i, i + 1, Math.Min(i + 1, ControlClient.MaxWeight), 0, true)).ToArray();
}
