using Balance.Configuration;

namespace Balance.CommandLine;

/// <summary>
/// A command line that parsed cleanly. For the shell modes only the endpoint fields of
/// <see cref="Configuration"/> (bind address, port, IPv6) are meaningful.
/// </summary>
internal sealed record ParsedCommandLine(BalanceMode Mode, BalanceConfiguration Configuration)
{
    /// <summary><c>-f</c>: stay attached to the terminal.</summary>
    public bool Foreground { get; init; }

    /// <summary><c>--takeover</c>: replace the instance running on the endpoint (docs/restart.md).</summary>
    public bool Takeover { get; init; }

    /// <summary>The <c>-c</c> text.</summary>
    public string? CommandText { get; init; }

    /// <summary>The ports of the shell modes, the first being the configuration's; <c>-c</c> may have several.</summary>
    public IReadOnlyList<int> Ports { get; init; } = [];

    /// <summary>
    /// <c>-M</c> was given. Accepted for compatibility: the control segment is always a mapped
    /// file here, so there is nothing to switch.
    /// </summary>
    public bool MappedFileRequested { get; init; }

    /// <summary><c>--metrics-file</c>: where to write the textfile-collector file.</summary>
    public string? MetricsFile { get; init; }
}
