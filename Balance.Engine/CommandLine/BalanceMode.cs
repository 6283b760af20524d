namespace Balance.CommandLine;

/// <summary>What one invocation of <c>balance</c> is asked to do.</summary>
internal enum BalanceMode
{
    /// <summary>Start a proxy (in the foreground with <c>-f</c>, else in the background).</summary>
    Start,

    /// <summary><c>-i</c>: interactive shell against a running instance.</summary>
    Interactive,

    /// <summary><c>-c</c>: run commands against a running instance, then exit.</summary>
    Command,

    /// <summary><c>--metrics-file</c>: write a running instance's Prometheus figures to a file, then exit.</summary>
    MetricsFile,

    /// <summary><c>-h</c>/<c>--help</c>.</summary>
    Help,

    /// <summary><c>--version</c>.</summary>
    Version,
}
