namespace Balance;

internal static class Program
{
    private static int Main(string[] args)
    {
        Proxy.SocketRuntimeTuning.Apply();
        return CommandLine.BalanceCommand.Run(args);
    }
}
