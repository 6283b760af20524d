namespace Balance.Policies;

/// <summary>
/// One pick in one group: the client and the group's shared round-robin position (in the segment
/// for the engine, a plain variable in tests). Lives on the stack; a policy keeps what it claimed in
/// <see cref="Claimed"/> for the walk's notice that follows.
/// </summary>
public ref struct PickContext
{
    /// <summary>A context for a client with <paramref name="clientHash"/> over a group whose shared position is <paramref name="position"/>.</summary>
    public PickContext(uint clientHash, ref int position)
    {
        ClientHash = clientHash;
        Position = ref position;
    }

    /// <summary>The client's hash (<see cref="Policies.ClientHash"/>).</summary>
    public uint ClientHash { get; }

    /// <summary>The group's round-robin position, shared by every worker.</summary>
    public ref int Position;

    /// <summary>Whatever the policy claimed while picking (round robin: its ticket), for <see cref="IBalancingPolicy.Reserved"/>.</summary>
    public int Claimed { get; set; }
}
