namespace Balance.Control;

/// <summary>
/// A channel of a segment as a whole: its record's states and limits, and its counters summed over
/// every worker's stripe. Setting a counter makes it the channel's total (stripe 0 takes the value,
/// every other stripe zero), which is what <c>reset</c> and tests that stage figures need; the
/// engine itself only adds to its own stripe (<see cref="ControlSegment.Stripe"/>).
/// </summary>
public readonly struct ChannelView
{
    private readonly ControlSegment segment;

    internal ChannelView(ControlSegment segment, int group, int channel)
    {
        this.segment = segment;
        Group = group;
        Index = channel;
    }

    /// <summary>The group.</summary>
    public int Group { get; }

    /// <summary>The position in the group.</summary>
    public int Index { get; }

    /// <summary>The record itself.</summary>
    public ref ChannelRecord Record => ref segment.Record(Group, Index);

    /// <summary>The stable id.</summary>
    public int Id => Volatile.Read(ref Record.Id);

    /// <summary>What people and scripts set.</summary>
    public ChannelAdminState AdminState
    {
        get => (ChannelAdminState)Volatile.Read(ref Record.AdminState);
        set => Volatile.Write(ref Record.AdminState, (int)value);
    }

    /// <summary>What the engine knows of the back-end.</summary>
    public ChannelHealth Health
    {
        get => (ChannelHealth)Volatile.Read(ref Record.Health);
        set => Volatile.Write(ref Record.Health, (int)value);
    }

    /// <summary>The weight (1 unless set).</summary>
    public int Weight
    {
        get => Volatile.Read(ref Record.Weight);
        set => Volatile.Write(ref Record.Weight, value);
    }

    /// <summary>maxc; 0 = unlimited.</summary>
    public int MaxConnections
    {
        get => Volatile.Read(ref Record.MaxConnections);
        set => Volatile.Write(ref Record.MaxConnections, value);
    }

    /// <summary>The live count ("c").</summary>
    public int Connections
    {
        get => Volatile.Read(ref Record.Connections);
        set => Volatile.Write(ref Record.Connections, value);
    }

    /// <summary>Sessions that reached the back-end, over every worker.</summary>
    public long TotalConnections
    {
        get => segment.SumStripes(Group, Index).TotalConnections;
        set => SetTotal(value, static (ref ChannelStripe s) => ref s.TotalConnections);
    }

    /// <summary>Failed connect attempts, over every worker.</summary>
    public long Failures
    {
        get => segment.SumStripes(Group, Index).Failures;
        set => SetTotal(value, static (ref ChannelStripe s) => ref s.Failures);
    }

    /// <summary>Bytes client to back-end, over every worker.</summary>
    public long BytesSent
    {
        get => segment.SumStripes(Group, Index).BytesSent;
        set => SetTotal(value, static (ref ChannelStripe s) => ref s.BytesSent);
    }

    /// <summary>Bytes back-end to client, over every worker.</summary>
    public long BytesReceived
    {
        get => segment.SumStripes(Group, Index).BytesReceived;
        set => SetTotal(value, static (ref ChannelStripe s) => ref s.BytesReceived);
    }

    /// <summary>Zeroes every counter in every stripe; the live count stays, it is a fact, not a count.</summary>
    public void ResetCounters()
    {
        for (var w = 0; w < segment.StripeCount; w++)
        {
            ref var s = ref segment.Stripe(w, Group, Index);
            Interlocked.Exchange(ref s.TotalConnections, 0);
            Interlocked.Exchange(ref s.Failures, 0);
            Interlocked.Exchange(ref s.BytesSent, 0);
            Interlocked.Exchange(ref s.BytesReceived, 0);
        }
    }

    private void SetTotal(long value, CounterField field)
    {
        for (var w = 0; w < segment.StripeCount; w++)
        {
            Interlocked.Exchange(ref field(ref segment.Stripe(w, Group, Index)), w == 0 ? value : 0);
        }
    }

    private delegate ref long CounterField(ref ChannelStripe stripe);
}
