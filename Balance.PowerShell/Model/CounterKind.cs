namespace Balance.PowerShell;

/// <summary>Which MRTG counter pair a <see cref="BalanceCounter"/> carries (the original's mrtg-bytes and mrtg-conns, and the shell's mrtg-health).</summary>
public enum CounterKind
{
    /// <summary>In = bytes from the back-end, Out = bytes to it (mrtg-bytes).</summary>
    Bytes,

    /// <summary>In = total sessions; Out is not defined (mrtg-conns).</summary>
    Connections,

    /// <summary>In = 1 when the channel is not down, Out = 1 when its admin state is enabled.</summary>
    Health,
}

/// <summary>How Get-BalanceCounter writes its result.</summary>
public enum CounterFormat
{
    /// <summary>BalanceCounter objects.</summary>
    Object,

    /// <summary>The four lines MRTG reads per channel: in, out, uptime, name.</summary>
    Mrtg,
}

/// <summary>File formats of Export-BalanceCounter.</summary>
public enum ExportFormat
{
    /// <summary>The four lines MRTG reads, for each channel.</summary>
    Mrtg,

    /// <summary>One row per channel under a header line; -Append adds rows to an existing file.</summary>
    Csv,

    /// <summary>An array of counter objects.</summary>
    Json,

    /// <summary>The Prometheus text format, for node_exporter's textfile collector (every figure, -Kind aside).</summary>
    Prometheus,
}
