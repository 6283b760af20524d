namespace Balance.Configuration;

/// <summary>How a group picks among its channels. Values are stored in the control segment.</summary>
public enum GroupType
{
    /// <summary>Next usable channel after the previous choice (the original's "RR").</summary>
    RoundRobin = 0,

    /// <summary>Channel chosen from a hash of the client address (the original's "Hash").</summary>
    Hash = 1,
}
