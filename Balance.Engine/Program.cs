namespace Balance;

internal static class Program
{
    private static int Main(string[] args)
    {
        Transport.Sockets.SocketRuntimeTuning.Apply();
        return CommandLine.BalanceCommand.Run(args);
    }
}
