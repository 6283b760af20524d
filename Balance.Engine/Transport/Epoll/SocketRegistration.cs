namespace Balance.Transport.Epoll;

/// <summary>
/// A socket's place in an <see cref="EpollLoop"/>: its readable and writable readiness. The slot and
/// generation it was given are what the kernel hands back with each event, so an event that was
/// already on its way when the socket closed finds another generation and is dropped.
/// </summary>
internal sealed class SocketRegistration
{
    private readonly EpollLoop loop;

    public SocketRegistration(int slot, uint generation, EpollLoop loop)
    {
        this.loop = loop;
        Slot = slot;
        Generation = generation;
        Readable = new Readiness(loop);
        Writable = new Readiness(loop);
    }

    public int Slot { get; }

    public uint Generation { get; }

    public Readiness Readable { get; }

    public Readiness Writable { get; }

    public ulong Key => ((ulong)Generation << 32) | (uint)Slot;

    public void Abort()
    {
        Readable.Abort();
        Writable.Abort();
    }

    /// <summary>Ends every wait and frees the slot: the socket is about to close.</summary>
    public void Leave()
    {
        Abort();
        loop.Unregister(this);
    }
}
