using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Get-BalanceEvent: the engine events (failovers, autodisables, errors) kept in the event ring of
/// instances, however they were started (jobs, -Detached, the balance executable). -Wait follows
/// the rings until the instances stop, -Timeout passes or the user presses Ctrl+C.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BalanceEvent")]
[OutputType(typeof(BalanceEngineEvent))]
public sealed class GetBalanceEventCommand : InstanceQueryCmdlet, IDisposable
{
    /// <summary>Events are sparse: a short poll costs nothing and keeps -Wait responsive.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly List<Follower> followers = [];
    private readonly CancellationTokenSource stop = new();

    /// <summary>Keep reading new events until the instances stop (or -Timeout, or Ctrl+C).</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: seconds to follow before returning; default: until the instances stop.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        foreach (var (instance, client) in OpenEach(PortFilter, BindAddress))
        {
            var follower = new Follower(instance, client);
            Emit(follower);
            if (Wait)
            {
                followers.Add(follower);
            }
            else
            {
                client.Dispose();
            }
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        var deadline = MyInvocation.BoundParameters.ContainsKey(nameof(Timeout))
            ? DateTime.UtcNow.AddSeconds(Timeout)
            : DateTime.MaxValue;
        while (followers.Count > 0 && !stop.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            stop.Token.WaitHandle.WaitOne(PollInterval);
            foreach (var follower in followers.ToArray())
            {
                Emit(follower);
                if (!follower.Client.IsAlive)
                {
                    // The engine writes its last events before it lets go of the segment.
                    Emit(follower);
                    follower.Client.Dispose();
                    followers.Remove(follower);
                }
            }
        }
    }

    /// <inheritdoc/>
    protected override void StopProcessing() => stop.Cancel();

    /// <summary>Lets go of the followed segments (PowerShell also calls it when the pipeline is stopped).</summary>
    public void Dispose()
    {
        foreach (var follower in followers)
        {
            follower.Client.Dispose();
        }

        followers.Clear();
        stop.Dispose();
    }

    private void Emit(Follower follower)
    {
        IReadOnlyList<BalanceEvent> events;
        try
        {
            events = follower.Client.ReadEvents(ref follower.Cursor);
        }
        catch (ControlException e)
        {
            WriteFailure(e, InstanceTarget.Endpoint(follower.Instance.BindAddress, follower.Instance.Port));
            return;
        }

        foreach (var e in events)
        {
            WriteObject(new BalanceEngineEvent(follower.Instance.Port, follower.Instance.BindAddress, e));
        }
    }

    /// <summary>One instance's ring and how far this call has read it.</summary>
    private sealed class Follower(InstanceInfo instance, ControlClient client)
    {
        public InstanceInfo Instance { get; } = instance;

        public ControlClient Client { get; } = client;

        public long Cursor;
    }
}
