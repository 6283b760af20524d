namespace Balance.Control;

/// <summary>Reads and clears the health fields of a channel record (layout v2's spare room, see <see cref="ChannelRecord"/>).</summary>
internal static class HealthFields
{
    /// <summary>The snapshot with the record's check results, health source and check overrides.</summary>
    public static ChannelInfo WithHealth(this ChannelInfo info, ref ChannelRecord c) => info with
    {
        HealthSource = (HealthSource)Volatile.Read(ref c.HealthSource),
        HealthChanged = Time(Volatile.Read(ref c.HealthChangedUnixMs)),
        LastCheck = Time(Volatile.Read(ref c.LastCheckUnixMs)),
        LastCheckResult = (CheckResult)Volatile.Read(ref c.LastCheckResult),
        LastCheckDuration = TimeSpan.FromMilliseconds(Math.Max(0, Volatile.Read(ref c.LastCheckMs))),
        CheckStreak = Volatile.Read(ref c.CheckStreak),
        PassiveFailures = Volatile.Read(ref c.PassiveFailures),
        CheckOverrides = new ChannelCheckOverrides(Volatile.Read(ref c.CheckIntervalMs), Volatile.Read(ref c.Rise), Volatile.Read(ref c.Fall), Volatile.Read(ref c.CheckPort)),
    };

    /// <summary>A fresh channel (create): no check, no failure, no override.</summary>
    public static void Clear(ref ChannelRecord c)
    {
        c.HealthSource = 0;
        c.LastCheckUnixMs = 0;
        c.LastCheckResult = 0;
        c.LastCheckMs = 0;
        c.CheckStreak = 0;
        c.PassiveFailures = 0;
        c.RetryAtUnixMs = 0;
        c.CheckIntervalMs = 0;
        c.Rise = 0;
        c.Fall = 0;
        c.CheckPort = 0;
    }

    private static DateTimeOffset? Time(long unixMs) => unixMs <= 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(unixMs, 253402300799999));
}
