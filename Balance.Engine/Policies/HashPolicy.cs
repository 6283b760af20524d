using System.Globalization;

namespace Balance.Policies;

/// <summary>
/// The original's <c>%</c> group: the client hash modulo the number of channels, usable or not, so
/// a client keeps its channel while the group keeps its size. With <c>-H</c> an unusable pick lets
/// the walk scan forward; without it the group is passed over.
/// </summary>
public sealed class HashPolicy : IBalancingPolicy
{
    /// <summary>The one instance; it keeps no state.</summary>
    public static HashPolicy Instance { get; } = new();

    /// <inheritdoc/>
    public int Id => PolicyCatalog.Hash;

    /// <inheritdoc/>
    public string Name => "Hash";

    /// <inheritdoc/>
    public string ShowName => "Hash";

    /// <inheritdoc/>
    public string Word => "hash";

    /// <inheritdoc/>
    public bool ScansGroup(bool hashFailover) => hashFailover;

    /// <inheritdoc/>
    public int Pick(ReadOnlySpan<ChannelCandidate> channels, ref PickContext context) =>
        channels.Length == 0 ? -1 : (int)(context.ClientHash % (uint)channels.Length);

    /// <inheritdoc/>
    public void Reserved(int chosen, int channelCount, ref PickContext context) =>
        // As the original: a hash group moves the round-robin position too, visible in show and the cmdlets.
        Volatile.Write(ref context.Position, (chosen + 1) % channelCount);

    /// <inheritdoc/>
    public void NothingReserved(int channelCount, ref PickContext context)
    {
    }

    /// <summary>The original's <c>-d</c> lines for a hash group, word for word.</summary>
    public void Trace(TextWriter debug, PickStep step, int group, int channel, int channelCount, uint clientHash)
    {
        ArgumentNullException.ThrowIfNull(debug);
        switch (step)
        {
            case PickStep.Picked:
                debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"HASH-method: fold returns {clientHash}"));
                debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"modulo {channelCount} gives {channel}"));
                break;
            case PickStep.Refused:
                debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"no valid channel in group {group}. Failover?"));
                break;
            case PickStep.Scanning:
                debug.WriteLine("channel disabled - hashfailover.");
                break;
            case PickStep.ScanReserved:
                debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"channel choosen: {channel} in group {group}."));
                break;
            case PickStep.ScanFoundNothing:
                debug.WriteLine(string.Create(CultureInfo.InvariantCulture, $"no valid channel in group {group}."));
                break;
        }
    }
}
