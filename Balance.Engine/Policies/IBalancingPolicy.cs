namespace Balance.Policies;

/// <summary>
/// How a group picks a channel for a new session: a pure type that sees the group's channels and the
/// client, never a socket or the segment (YARP's ILoadBalancingPolicy is the model). The shared walk
/// (<see cref="ChannelSelector"/>) asks for a pick, reserves the slot, scans on where the policy
/// allows it and tells the policy how it ended. A policy is shared by every worker: what it keeps
/// per group is built when the segment's change version moves, never per pick.
/// </summary>
public interface IBalancingPolicy
{
    /// <summary>The id stored in the segment's group record (<see cref="PolicyCatalog"/>).</summary>
    int Id { get; }

    /// <summary>The name the cmdlets show and accept.</summary>
    string Name { get; }

    /// <summary>The 4-character name in <c>show</c>'s Type column.</summary>
    string ShowName { get; }

    /// <summary>The lower-case word the shell and the command line use (<c>rr</c>, <c>hash</c>, <c>wrr</c>, <c>leastconn</c>, <c>maglev</c>).</summary>
    string Word { get; }

    /// <summary>
    /// True when the walk may try the rest of the group, scanning forward from the pick, once the
    /// pick cannot be reserved (also after a failed connect).
    /// </summary>
    bool ScansGroup(bool hashFailover);

    /// <summary>The index of the channel to try first, or -1 when the group has nothing to offer.</summary>
    int Pick(ReadOnlySpan<ChannelCandidate> channels, ref PickContext context);

    /// <summary>The walk reserved <paramref name="chosen"/> (the pick, or a channel after it) for this pick.</summary>
    void Reserved(int chosen, int channelCount, ref PickContext context);

    /// <summary>The walk reserved nothing in the group for this pick.</summary>
    void NothingReserved(int channelCount, ref PickContext context);

    /// <summary>
    /// The policy a group with <paramref name="channels"/> uses: this one when the policy keeps nothing
    /// per group, else one built for the group (weighted round robin's schedule, Maglev's table). The
    /// walk asks when the change version moved, off the per-pick path; <paramref name="previous"/> is
    /// what the group used before, returned again when nothing it was built from changed. The span is
    /// the walk's and reused for the next group: a policy copies what it keeps.
    /// </summary>
    IBalancingPolicy ForGroup(ReadOnlySpan<ChannelCandidate> channels, IBalancingPolicy? previous) => this;

    /// <summary>Writes the policy's lines of the <c>-d</c> trace for one step of the walk; most policies write none.</summary>
    void Trace(TextWriter debug, PickStep step, int group, int channel, int channelCount, uint clientHash)
    {
    }
}

/// <summary>Steps of the walk in a group, as <see cref="IBalancingPolicy.Trace"/> hears of them.</summary>
public enum PickStep
{
    /// <summary>The policy picked <c>channel</c>.</summary>
    Picked,

    /// <summary>The pick cannot be reserved and the group is not scanned.</summary>
    Refused,

    /// <summary>The pick cannot be reserved; the walk scans on.</summary>
    Scanning,

    /// <summary>The scan reserved <c>channel</c>.</summary>
    ScanReserved,

    /// <summary>The scan found nothing.</summary>
    ScanFoundNothing,
}
