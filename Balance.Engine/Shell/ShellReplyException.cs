namespace Balance.Shell;

/// <summary>Ends a command early with a reply for the user (a bad argument, mostly).</summary>
internal sealed class ShellReplyException : Exception
{
    public ShellReplyException(string reply)
        : base(reply)
    {
    }

    public ShellReplyException()
        : this(ShellReplies.SyntaxError)
    {
    }

    public ShellReplyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string Reply => Message;
}
