namespace Balance.Transport;

/// <summary>The sizes both transports' relay loops share.</summary>
internal static class RelayLimits
{
    /// <summary>Bytes per read; the original used 32 KiB.</summary>
    public const int BufferSize = 32 * 1024;

    /// <summary>
    /// Full buffers relayed in a row before a direction lets others run: while data keeps
    /// arriving a direction never waits, so without this one bulk stream would hold the thread
    /// that relays every session (2 MiB here).
    /// </summary>
    public const int FullReadsBeforeYield = 64;
}
