using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// Every counter the engine writes, for one worker: accepted and rejected clients, connections
/// and failures per channel, bytes each way. They go to the worker's own stripe of the segment
/// (layout v2), whose cache lines no other worker writes; readers add the stripes up.
/// </summary>
internal sealed class WorkerCounters
{
    private readonly ControlSegment segment;
    private long acceptedHere;

    public WorkerCounters(ControlSegment segment, int worker)
    {
        this.segment = segment;
        Worker = worker;
    }

    /// <summary>The worker's index, 0 to the worker count less one: its stripe in the segment.</summary>
    public int Worker { get; }

    /// <summary>Clients this worker accepted, for diagnostics and tests (the segment holds the total).</summary>
    public long AcceptedHere => Interlocked.Read(ref acceptedHere);

    public void Accepted()
    {
        Interlocked.Increment(ref acceptedHere);
        Interlocked.Increment(ref segment.InstanceStripe(Worker).Accepted);
    }

    public void Rejected() => Interlocked.Increment(ref segment.InstanceStripe(Worker).Rejected);

    /// <summary>A connect to the channel succeeded.</summary>
    public void Connected(int group, int channel) => Interlocked.Increment(ref segment.Stripe(Worker, group, channel).TotalConnections);

    /// <summary>A connect to the channel failed or timed out.</summary>
    public void Failed(int group, int channel) => Interlocked.Increment(ref segment.Stripe(Worker, group, channel).Failures);

    /// <summary>Bytes relayed: sent to the back-end, or received from it.</summary>
    public void Relayed(bool clientToBackend, int group, int channel, int bytes)
    {
        ref var stripe = ref segment.Stripe(Worker, group, channel);
        if (clientToBackend)
        {
            Interlocked.Add(ref stripe.BytesSent, bytes);
        }
        else
        {
            Interlocked.Add(ref stripe.BytesReceived, bytes);
        }
    }
}
