using Balance.Shell;

namespace Balance.Tests.Shell;

internal static class ShellTestExtensions
{
    /// <summary>Runs one line and returns everything it wrote.</summary>
    public static string Run(this ShellSession session, string line) => session.Run(line, out _);

    public static string Run(this ShellSession session, string line, out ShellOutcome outcome)
    {
        using var output = new StringWriter();
        outcome = session.Execute(line, output);
        return output.ToString();
    }
}
