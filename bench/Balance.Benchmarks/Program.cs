using BenchmarkDotNet.Running;

namespace Balance.Benchmarks;

internal static class Program
{
    // `dotnet run -c Release --project bench/Balance.Benchmarks -- --filter '*'` runs them all.
    private static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
