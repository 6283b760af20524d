namespace Balance.Policies;

/// <summary>
/// One pick in one group: the client and the group's shared words (in the segment for the engine,
/// plain variables in tests). Lives on the stack; a policy keeps what it claimed in
/// <see cref="Claimed"/> for the walk's notice that follows.
/// </summary>
public ref struct PickContext
{
    /// <summary>
    /// A context for a client with <paramref name="clientHash"/> over a group whose shared position is
    /// <paramref name="position"/>; the client key is derived from the hash and the schedule ticket
    /// shares the position's variable.
    /// </summary>
    public PickContext(uint clientHash, ref int position)
        : this(clientHash, Policies.ClientHash.KeyOf(clientHash), ref position, ref position)
    {
    }

    /// <summary>A context with every word given: the original hash, the address key and the group's two shared words.</summary>
    public PickContext(uint clientHash, ulong clientKey, ref int position, ref int sequence)
    {
        ClientHash = clientHash;
        ClientKey = clientKey;
        Position = ref position;
        Sequence = ref sequence;
    }

    /// <summary>The client's hash (<see cref="Policies.ClientHash"/>), the original's fold.</summary>
    public uint ClientHash { get; }

    /// <summary>A well-mixed 64-bit key of the client's address (<see cref="Policies.ClientHash.Key(System.Net.IPAddress)"/>), what consistent hashing keys on.</summary>
    public ulong ClientKey { get; }

    /// <summary>The group's round-robin position, shared by every worker.</summary>
    public ref int Position;

    /// <summary>The group's schedule ticket (weighted round robin), shared by every worker.</summary>
    public ref int Sequence;

    /// <summary>Whatever the policy claimed while picking (round robin: its ticket), for <see cref="IBalancingPolicy.Reserved"/>.</summary>
    public int Claimed { get; set; }
}
