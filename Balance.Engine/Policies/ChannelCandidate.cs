namespace Balance.Policies;

/// <summary>
/// What a policy sees of one channel of its group when it picks: its position, stable id, weight,
/// live session count, and whether it is usable now (admin enabled, health not down, weight above
/// zero, below its maxc). The walk reserves the slot afterwards; a policy never touches the segment.
/// </summary>
/// <param name="Index">Position in the group; what <see cref="IBalancingPolicy.Pick"/> returns.</param>
/// <param name="Id">The channel's stable id.</param>
/// <param name="Weight">Relative share; 1 unless set.</param>
/// <param name="Connections">Live sessions plus connects in progress.</param>
/// <param name="Usable">True when a new session may go there.</param>
public readonly record struct ChannelCandidate(int Index, int Id, int Weight, int Connections, bool Usable);
