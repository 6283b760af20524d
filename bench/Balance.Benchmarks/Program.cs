using BenchmarkDotNet.Running;

namespace Balance.Benchmarks;

internal static class Program
{
    // `dotnet run -c Release --project bench/Balance.Benchmarks -- --filter '*'` runs them all;
    // `-- distribution` prints how the policies spread clients (docs/policies.md).
    private static void Main(string[] args)
    {
        if (args is ["distribution"])
        {
            PolicyDistribution.Run(Console.Out);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
