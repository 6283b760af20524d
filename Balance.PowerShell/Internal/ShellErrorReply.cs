using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>
/// Tells the shell's error replies from its ordinary ones. The replies keep the original's exact
/// wording (scripts compare them), so the words are the only mark of a refusal; each maps to the
/// error category a user would filter on.
/// </summary>
internal static class ShellErrorReply
{
    private static readonly (string Start, ErrorCategory Category)[] Replies =
    [
        ("syntax error", ErrorCategory.InvalidArgument),
        ("ambiguous command", ErrorCategory.InvalidArgument),
        ("value out of range", ErrorCategory.InvalidArgument),
        ("invalid address", ErrorCategory.InvalidArgument),
        ("no such channel ", ErrorCategory.ObjectNotFound),
        ("unknown channel", ErrorCategory.ObjectNotFound),
        ("unknown group", ErrorCategory.ObjectNotFound),
        ("channel must be disabled", ErrorCategory.InvalidOperation),
        ("no channel slots available", ErrorCategory.LimitsExceeded),
    ];

    /// <summary>The category of a one-line error reply, or null for a reply that is not a refusal.</summary>
    public static ErrorCategory? CategoryOf(string reply)
    {
        var text = reply.TrimEnd('\n', '\r');
        if (text.Contains('\n', StringComparison.Ordinal))
        {
            return null;
        }

        foreach (var (start, category) in Replies)
        {
            if (text.StartsWith(start, StringComparison.Ordinal))
            {
                return category;
            }
        }

        return null;
    }
}
