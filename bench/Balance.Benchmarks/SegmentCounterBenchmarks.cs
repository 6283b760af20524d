using BenchmarkDotNet.Attributes;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Benchmarks;

/// <summary>
/// What the relay pays per read to keep the live counters: one atomic add on its own stripe of the
/// mapped segment. Compared with the same add on ordinary memory, to show the mapping costs nothing extra.
/// </summary>
[MemoryDiagnoser]
public class SegmentCounterBenchmarks
{
    private ControlSegment segment = null!;
    private FileLock owner = null!;
    private long plain;

    [GlobalSetup]
    public void Setup()
    {
        var name = SegmentName.FromNormalized("127.0.0.1", 1);
        owner = FileLock.TryAcquire(name.OwnerLockPath)!;
        segment = ControlSegment.Create(name, new BalanceConfiguration { Port = 1 });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var name = segment.Name;
        segment.Dispose();
        owner.Dispose();
        File.Delete(name.Path);
        File.Delete(name.OwnerLockPath);
    }

    [Benchmark(Baseline = true)]
    public long AtomicAddOnHeap() => Interlocked.Add(ref plain, 1460);

    [Benchmark]
    public long AtomicAddOnSegment() => Interlocked.Add(ref segment.Stripe(0, 0, 0).BytesSent, 1460);
}
