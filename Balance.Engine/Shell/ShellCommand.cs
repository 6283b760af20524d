namespace Balance.Shell;

/// <summary>The commands of the original interactive shell.</summary>
internal enum ShellCommand
{
    Create,
    Assign,
    Disable,
    Enable,
    Group,
    Hash,
    Help,
    Kill,
    Maxc,
    MrtgBytes,
    MrtgConns,
    Quit,
    Reset,
    RoundRobin,
    Show,
    Version,
}
