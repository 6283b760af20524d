namespace Balance.Shell;

/// <summary>The commands of the original interactive shell, and the few added after it.</summary>
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

    /// <summary>New: draining, apart from the original's set (full name only).</summary>
    Drain,

    /// <summary>New: the health table (full name only).</summary>
    Health,

    /// <summary>New: a channel's own check settings (full name only).</summary>
    Check,

    /// <summary>New: a channel's states for MRTG (full name only).</summary>
    MrtgHealth,

    /// <summary>New: the current group balances by smooth weighted round robin (full name only).</summary>
    WeightedRoundRobin,

    /// <summary>New: the current group balances by least connections (full name only).</summary>
    LeastConnections,

    /// <summary>New: the current group balances by Maglev consistent hashing (full name only).</summary>
    Maglev,

    /// <summary>New: a channel's weight (full name only).</summary>
    Weight,

    /// <summary>New: writes the live layout to a file (full name only, so <c>s</c> still means show).</summary>
    Save,
}
