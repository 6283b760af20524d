using System.Net;
using BenchmarkDotNet.Attributes;
using Balance.Policies;

namespace Balance.Benchmarks;

/// <summary>The client hash computed for every accepted connection, from an IPv4 and an IPv6 address.</summary>
[MemoryDiagnoser]
public class ClientHashBenchmarks
{
    private readonly IPAddress v4 = IPAddress.Parse("192.0.2.77");
    private readonly IPAddress v6 = IPAddress.Parse("2001:db8::1234:5678");

    [Benchmark(Baseline = true)]
    public uint IPv4() => ClientHash.Compute(v4);

    [Benchmark]
    public uint IPv6() => ClientHash.Compute(v6);
}
