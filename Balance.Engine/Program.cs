namespace Balance;

internal static class Program
{
    private static int Main(string[] args) => CommandLine.BalanceCommand.Run(args);
}
