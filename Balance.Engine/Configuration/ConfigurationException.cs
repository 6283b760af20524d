namespace Balance.Configuration;

/// <summary>
/// A start option or channel specification that cannot work. <see cref="Token"/> is the text the
/// user wrote, so every front end (command line, cmdlets) can name it; <see cref="ExitCode"/> is
/// the sysexits code the original used for the same mistake.
/// </summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>A mistake named by <paramref name="message"/>, about the user's <paramref name="token"/>, failing with <paramref name="exitCode"/>.</summary>
    /// <param name="message">One line naming the problem and the fix.</param>
    /// <param name="token">The text the user wrote, or null when the mistake is not one token.</param>
    /// <param name="exitCode">The sysexits code (<see cref="ExitCodes"/>) the command line exits with.</param>
    public ConfigurationException(string message, string? token = null, int exitCode = ExitCodes.Usage)
        : base(message)
    {
        Token = token;
        ExitCode = exitCode;
    }

    /// <summary>A usage error without details; prefer the constructor that names the problem.</summary>
    public ConfigurationException()
        : this("invalid configuration")
    {
    }

    /// <summary>A usage error named by <paramref name="message"/>.</summary>
    /// <param name="message">One line naming the problem and the fix.</param>
    public ConfigurationException(string message)
        : this(message, (string?)null)
    {
    }

    /// <summary>A usage error caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">One line naming the problem and the fix.</param>
    /// <param name="innerException">The failure that revealed it.</param>
    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.Usage;
    }

    /// <summary>The option or operand as the user wrote it; null when the mistake is not one token.</summary>
    public string? Token { get; }

    /// <summary>The sysexits code the command line exits with for this mistake.</summary>
    public int ExitCode { get; }
}
