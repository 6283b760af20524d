using Balance.Control;

namespace Balance.PowerShell;

/// <summary>An engine event (failover, autodisable, error...) as received from a Balance job; an immutable snapshot.</summary>
public sealed class BalanceEngineEvent
{
    public BalanceEngineEvent(int port, string bindAddress, BalanceEvent engineEvent)
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

    public int Port { get; }

    public string BindAddress { get; }

    public long Sequence { get; }

    public DateTimeOffset Time { get; }

    public EngineEventKind Kind { get; }

    public int Group { get; }

    public int Channel { get; }

    public string Message { get; }

    public override string ToString() => Message;
}
