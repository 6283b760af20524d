namespace Balance.Policies;

/// <summary>A channel picked for a connection, its connection slot already reserved; or none.</summary>
internal readonly record struct ChannelChoice(int Group, int Channel)
{
    public static ChannelChoice None { get; } = new(-1, -1);

    public bool Found => Group >= 0;
}
