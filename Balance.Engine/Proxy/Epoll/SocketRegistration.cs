namespace Balance.Proxy;

/// <summary>
/// A socket's place in an <see cref="EpollLoop"/>: its readable and writable readiness. The slot and
/// generation it was given are what the kernel hands back with each event, so an event that was
/// already on its way when the socket closed finds another generation and is dropped.
/// </summary>
internal sealed class SocketRegistration
{
    public SocketRegistration(int slot, uint generation)
    {
        Slot = slot;
        Generation = generation;
    }

    public int Slot { get; }

    public uint Generation { get; }

    public Readiness Readable { get; } = new();

    public Readiness Writable { get; } = new();

    public ulong Key => ((ulong)Generation << 32) | (uint)Slot;

    public void Abort()
    {
        Readable.Abort();
        Writable.Abort();
    }
}
