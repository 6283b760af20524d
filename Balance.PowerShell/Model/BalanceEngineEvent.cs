using Balance.Control;

namespace Balance.PowerShell;

/// <summary>An engine event (failover, autodisable, error...) as received from a Balance job; an immutable snapshot.</summary>
public sealed class BalanceEngineEvent
{
    internal BalanceEngineEvent(int port, string bindAddress, BalanceEvent engineEvent)
    {
        ArgumentNullException.ThrowIfNull(engineEvent);
        Port = port;
        BindAddress = bindAddress;
        Sequence = engineEvent.Sequence;
        Time = engineEvent.Time;
        Kind = engineEvent.Kind;
        Group = engineEvent.Group;
        Channel = engineEvent.Channel;
        Message = engineEvent.Message;
    }

    /// <summary>Listen port of the instance that raised the event.</summary>
    public int Port { get; }

    /// <summary>Listen address of the instance, normalised (e.g. <c>0.0.0.0</c> for every IPv4 address).</summary>
    public string BindAddress { get; }

    /// <summary>The event's number in the instance's ring; gaps mean events were overwritten before being read.</summary>
    public long Sequence { get; }

    /// <summary>When the engine raised the event.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>What happened.</summary>
    public EngineEventKind Kind { get; }

    /// <summary>The group concerned, or -1 when none is.</summary>
    public int Group { get; }

    /// <summary>The channel concerned within <see cref="Group"/>, or -1 when none is.</summary>
    public int Channel { get; }

    /// <summary>The event in words, naming the channel and what to do where that applies.</summary>
    public string Message { get; }

    /// <inheritdoc/>
    public override string ToString() => Message;
}
