namespace Balance.Shell;

/// <summary>What the caller of <see cref="ShellSession.Execute"/> should do next.</summary>
public enum ShellOutcome
{
    /// <summary>Read the next command.</summary>
    Continue,

    /// <summary><c>quit</c>: leave the shell, exit status 0.</summary>
    Quit,

    /// <summary><c>kill</c> stopped the engine: leave the shell, exit status 0.</summary>
    Killed,

    /// <summary><c>kill</c> found the engine still running at the deadline: leave the shell, exit status 69.</summary>
    KillFailed,
}
