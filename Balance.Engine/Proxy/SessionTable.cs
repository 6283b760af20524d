namespace Balance.Proxy;

/// <summary>
/// The live sessions of an engine, for the idle sweeper and for stopping. Slots are reused through
/// a free list, so registering allocates nothing once the table has grown. The lock is taken once
/// when a session starts and once when it ends, never on the relay path.
/// </summary>
internal sealed class SessionTable
{
    private readonly Lock gate = new();
    private Session?[] slots = new Session?[256];
    private int[] free = new int[256];
    private int freeCount;
    private int highWater;
    private int count;
    private bool closed;

    public int Count => Volatile.Read(ref count);

    /// <summary>Adds a session; false once the table is closed (the engine is stopping).</summary>
    public bool TryAdd(Session session)
    {
        lock (gate)
        {
            if (closed)
            {
                return false;
            }

            int slot;
            if (freeCount > 0)
            {
                slot = free[--freeCount];
            }
            else
            {
                if (highWater == slots.Length)
                {
                    Array.Resize(ref slots, slots.Length * 2);
                    Array.Resize(ref free, free.Length * 2);
                }

                slot = highWater++;
            }

            slots[slot] = session;
            session.Slot = slot;
            count++;
            return true;
        }
    }

    public void Remove(Session session)
    {
        lock (gate)
        {
            var slot = session.Slot;
            if ((uint)slot >= (uint)highWater || !ReferenceEquals(slots[slot], session))
            {
                return;
            }

            slots[slot] = null;
            free[freeCount++] = slot;
            session.Slot = -1;
            count--;
        }
    }

    /// <summary>Refuses new sessions from now on.</summary>
    public void Close()
    {
        lock (gate)
        {
            closed = true;
        }
    }

    /// <summary>
    /// Copies the sessions matching <paramref name="predicate"/> into <paramref name="into"/> (cleared
    /// first), so that callers act on them outside the lock.
    /// </summary>
    public void Collect(List<Session> into, Func<Session, long, bool> predicate, long now)
    {
        into.Clear();
        lock (gate)
        {
            for (var i = 0; i < highWater; i++)
            {
                if (slots[i] is { } s && predicate(s, now))
                {
                    into.Add(s);
                }
            }
        }
    }
}
