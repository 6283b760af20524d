using Balance.Control;

namespace Balance.Health;

/// <summary>
/// The state machine of active checks, pure (HAProxy's rise and fall): results in a row make a
/// streak, positive for passed checks and negative for failed ones; <c>fall</c> failures in a row
/// take a channel down, <c>rise</c> passes in a row bring a down channel up, and a channel not yet
/// decided is up after its first pass.
/// </summary>
internal static class HealthRules
{
    /// <summary>Longest streak kept: enough for any rise or fall, and no overflow in a long-lived engine.</summary>
    public const int StreakLimit = 1000;

    /// <summary>The streak after one more result.</summary>
    public static int NextStreak(int streak, bool passed) => passed
        ? Math.Min(streak > 0 ? streak + 1 : 1, StreakLimit)
        : Math.Max(streak < 0 ? streak - 1 : -1, -StreakLimit);

    /// <summary>The health after a result that left <paramref name="streak"/>; the same health when nothing changes.</summary>
    public static ChannelHealth Decide(ChannelHealth current, int streak, int rise, int fall) => current switch
    {
        ChannelHealth.Down when streak >= rise => ChannelHealth.Up,
        ChannelHealth.Unknown when streak > 0 => ChannelHealth.Up,
        ChannelHealth.Up or ChannelHealth.Unknown when streak <= -fall => ChannelHealth.Down,
        _ => current,
    };
}
