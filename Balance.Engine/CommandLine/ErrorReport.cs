namespace Balance.CommandLine;

/// <summary>The one shape every failure takes on stderr: a single line naming the problem, then the hint.</summary>
internal static class ErrorReport
{
    public static int Write(TextWriter error, string message, int exitCode)
    {
        ArgumentNullException.ThrowIfNull(error);
        error.WriteLine("balance: " + OneLine(message));
        error.WriteLine(UsageText.Hint);
        error.Flush();
        return exitCode;
    }

    /// <summary>Messages from the runtime may span lines; the report must not.</summary>
    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
