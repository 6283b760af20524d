namespace Balance.Shell;

/// <summary>
/// The <c>-c</c> argument as a list of commands. The original ran exactly one command per
/// <c>-c</c>, so only group 0 could be reached; separating commands with ';' runs them in one
/// session (<c>-c "group 1; disable 0; show"</c>).
/// </summary>
public static class ShellScript
{
    /// <summary>Splits a <c>-c</c> text into commands at each ';', dropping empty ones.</summary>
    public static IReadOnlyList<string> Split(string commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        return commands.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }
}
