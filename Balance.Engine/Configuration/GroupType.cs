namespace Balance.Configuration;

/// <summary>How a group picks among its channels. Values are the policy ids stored in the control segment (<see cref="Policies.PolicyCatalog"/>).</summary>
public enum GroupType
{
    /// <summary>Next usable channel after the previous choice (the original's "RR").</summary>
    RoundRobin = 0,

    /// <summary>Channel chosen from a hash of the client address (the original's "Hash").</summary>
    Hash = 1,

    /// <summary>Smooth weighted round robin (nginx's); the shell's <c>wrr</c>.</summary>
    WeightedRoundRobin = 2,

    /// <summary>Fewest live connections relative to weight, ties round robin; the shell's <c>leastconn</c>.</summary>
    LeastConnections = 3,

    /// <summary>Maglev consistent hashing of the client address, weighted; the shell's <c>maglev</c>.</summary>
    Maglev = 4,
}
