using System.Globalization;

namespace Balance.Shell;

/// <summary>
/// The replies of the shell. Those the original printed keep its exact text, because scripts
/// written against balance 3.54 compare them; the ones that are new (ambiguity, kill) are ours.
/// </summary>
internal static class ShellReplies
{
    public const string SyntaxError = "syntax error";
    public const string ValueOutOfRange = "value out of range";
    public const string KillNotAbbreviated = "syntax error: kill cannot be abbreviated, type the whole word to stop the engine";
    public const string ChannelCreated = "channel created";
    public const string InvalidAddress = "invalid address";
    public const string NoChannelSlots = "no channel slots available";
    public const string ChannelReassigned = "channel reassigned";
    public const string MustBeDisabled = "channel must be disabled to assign new address";
    public const string UnknownChannel = "unknown channel";
    public const string UnknownGroup = "unknown group";
    public const string ShutdownComplete = "shutdown complete, exiting.";
    public static string ShutdownWithdrawn(TimeSpan wait) =>
        Format($"shutdown failed: the engine did not take the request within {wait.TotalSeconds:0.#} s (stopped or hung?); the request is withdrawn, it will not stop later");

    public static string ShutdownPending(TimeSpan wait) =>
        Format($"shutdown pending: the engine is stopping but had not finished within {wait.TotalSeconds:0.#} s; check again with show");

    public static string Ambiguous(IEnumerable<string> names) => "ambiguous command, one of: " + string.Join(", ", names);

    public static string Enabled(int channel, bool changed) => changed
        ? Format($"channel {channel} enabled")
        : Format($"channel {channel} already enabled");

    public static string Disabled(int channel, bool changed) => changed
        ? Format($"channel {channel} disabled")
        : Format($"channel {channel} already disabled");

    public static string Draining(int channel, bool changed) => changed
        ? Format($"channel {channel} draining")
        : Format($"channel {channel} already draining");

    public static string NoSuchChannel(int channel) => Format($"no such channel {channel}");

    public static string MaxcChanged(int channel, int maxc) => Format($"maxc of channel {channel} changed to {maxc}");

    public static string CountersReset(int channel) => Format($"channel {channel} counters reset");

    public static string GroupSetToHash(int group) => Format($"group {group} set to hash");

    public static string GroupSetToRoundRobin(int group) => Format($"group {group} set to round robin");

    /// <summary>The reply to the new policy words: the same form as the original's two.</summary>
    public static string GroupSetTo(int group, string policy) => Format($"group {group} set to {policy}");

    public static string WeightChanged(int channel, int weight) => Format($"weight of channel {channel} changed to {weight}");

    public static string WeightOutOfRange(int maxWeight) => Format($"value out of range: a weight is 0 (no new connections) to {maxWeight}");

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
