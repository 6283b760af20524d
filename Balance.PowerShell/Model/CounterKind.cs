namespace Balance.PowerShell;

/// <summary>Which MRTG counter pair a <see cref="BalanceCounter"/> carries (the original's mrtg-bytes and mrtg-conns, and the shell's mrtg-health).</summary>
public enum CounterKind
{
    Bytes,
    Connections,

    /// <summary>In = 1 when the channel is not down, Out = 1 when its admin state is enabled.</summary>
    Health,
}

/// <summary>How Get-BalanceCounter writes its result.</summary>
public enum CounterFormat
{
    Object,
    Mrtg,
}

/// <summary>File formats of Export-BalanceCounter.</summary>
public enum ExportFormat
{
    Mrtg,
    Csv,
    Json,

    /// <summary>The Prometheus text format, for node_exporter's textfile collector (every figure, -Kind aside).</summary>
    Prometheus,
}
