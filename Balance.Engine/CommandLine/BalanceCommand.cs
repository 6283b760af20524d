namespace Balance.CommandLine;

/// <summary>Entry point of the balance executable (owned by the command-line work).</summary>
public static class BalanceCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        Console.Error.WriteLine("balance: command line not implemented yet");
        return 70;
    }
}
