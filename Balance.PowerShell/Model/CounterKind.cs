namespace Balance.PowerShell;

/// <summary>Which MRTG counter pair a <see cref="BalanceCounter"/> carries (the original's mrtg-bytes and mrtg-conns).</summary>
public enum CounterKind
{
    Bytes,
    Connections,
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
