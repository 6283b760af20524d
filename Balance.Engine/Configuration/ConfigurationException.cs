namespace Balance.Configuration;

/// <summary>
/// A start option or channel specification that cannot work. <see cref="Token"/> is the text the
/// user wrote, so every front end (command line, cmdlets) can name it; <see cref="ExitCode"/> is
/// the sysexits code the original used for the same mistake.
/// </summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(string message, string? token = null, int exitCode = ExitCodes.Usage)
        : base(message)
    {
        Token = token;
        ExitCode = exitCode;
    }

    public ConfigurationException()
        : this("invalid configuration")
    {
    }

    public ConfigurationException(string message)
        : this(message, (string?)null)
    {
    }

    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.Usage;
    }

    public string? Token { get; }

    public int ExitCode { get; }
}
