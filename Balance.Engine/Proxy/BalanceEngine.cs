using System.Net;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// CONTRACT (public surface fixed; implementation in progress).
/// One running proxy: one listen endpoint, one control segment.
/// </summary>
public sealed class BalanceEngine : IAsyncDisposable
{
    private BalanceEngine()
    {
        throw new NotImplementedException();
    }

    /// <summary>
    /// Validates <paramref name="configuration"/>, resolves every channel, takes the endpoint's
    /// owner lock, binds and listens, creates the control segment and starts accepting. Returns
    /// once the listener is up. Every failure is a <see cref="ConfigurationException"/> whose
    /// message names the bad token and whose ExitCode is the original's sysexits code
    /// (65 unknown back-end address, 69 already running on this endpoint, 71 bind/listen failure).
    /// </summary>
    public static BalanceEngine Start(BalanceConfiguration configuration, EngineOutput? output = null) => throw new NotImplementedException();

    public SegmentName Name => throw new NotImplementedException();

    /// <summary>The bound endpoint (the real port when 0 was asked for is not supported: Port must be 1-65535).</summary>
    public IPEndPoint LocalEndPoint => throw new NotImplementedException();

    /// <summary>Completes when the engine has stopped (kill request through the segment, StopAsync, or a fatal error: faulted).</summary>
    public Task Completion => throw new NotImplementedException();

    /// <summary>Stops accepting, lets live sessions finish for up to <paramref name="grace"/> (default: the configured grace period), closes the rest, removes the segment.</summary>
    public Task StopAsync(TimeSpan? grace = null) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}

/// <summary>Where -d trace lines and -p packet dumps go. Null writers = off.</summary>
public sealed class EngineOutput
{
    public TextWriter? Debug { get; init; }

    public TextWriter? PacketDump { get; init; }
}
