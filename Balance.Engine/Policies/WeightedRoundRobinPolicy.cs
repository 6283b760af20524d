using Balance.Control;

namespace Balance.Policies;

/// <summary>
/// Smooth weighted round robin (nginx's algorithm): a group follows one period of nginx's sequence
/// (<see cref="SmoothSchedule"/>), built from the weights when the change version moves. Every
/// worker claims its step by compare-and-swap on the group's shared ticket, so the picks of all
/// workers together are nginx's sequence, without bursts and exact in proportion. A step whose
/// channel is not usable (down, disabled, draining, at maxc) is claimed and skipped in the same
/// swap, so the usable channels keep their exact shares among themselves.
/// </summary>
public sealed class WeightedRoundRobinPolicy : IBalancingPolicy
{
    private readonly int[] weights;
    private readonly ushort[] schedule;

    private WeightedRoundRobinPolicy(int[] weights)
    {
        this.weights = weights;
        schedule = SmoothSchedule.Build(weights);
    }

    /// <summary>The catalog's entry, built for no channels: the walk asks it for each group's own (<see cref="ForGroup"/>).</summary>
    public static WeightedRoundRobinPolicy Instance { get; } = new([]);

    /// <inheritdoc/>
    public int Id => PolicyCatalog.WeightedRoundRobin;

    /// <inheritdoc/>
    public string Name => "WeightedRoundRobin";

    /// <inheritdoc/>
    public string ShowName => "WRR";

    /// <inheritdoc/>
    public string Word => "wrr";

    /// <summary>Steps in one period of the schedule (the weights' sum over their gcd).</summary>
    public int Period => schedule.Length;

    /// <inheritdoc/>
    public bool ScansGroup(bool hashFailover) => true;

    /// <inheritdoc/>
    public IBalancingPolicy ForGroup(ReadOnlySpan<ChannelCandidate> channels, IBalancingPolicy? previous)
    {
        var current = new int[channels.Length];
        for (var c = 0; c < channels.Length; c++)
        {
            // A hostile weight must not size the schedule; the control client allows no more.
            current[c] = Math.Clamp(channels[c].Weight, 0, ControlClient.MaxWeight);
        }

        return previous is WeightedRoundRobinPolicy built && built.weights.AsSpan().SequenceEqual(current) ? built : new WeightedRoundRobinPolicy(current);
    }

    /// <inheritdoc/>
    public int Pick(ReadOnlySpan<ChannelCandidate> channels, ref PickContext context)
    {
        if (!AnyScheduledUsable(channels))
        {
            return -1;
        }

        // A scheduled usable channel exists, so the scan ends within one period.
        var period = schedule.Length;
        while (true)
        {
            var raw = Volatile.Read(ref context.Sequence);
            var at = (uint)raw >= (uint)period ? 0 : raw;
            int channel;
            while (true)
            {
                channel = schedule[at];
                if (channel < channels.Length && channels[channel].Usable)
                {
                    break;
                }

                at = Next(at, period);
            }

            if (Interlocked.CompareExchange(ref context.Sequence, Next(at, period), raw) == raw)
            {
                context.Claimed = channel;
                return channel;
            }
        }
    }

    /// <inheritdoc/>
    public void Reserved(int chosen, int channelCount, ref PickContext context)
    {
        // The ticket was taken with the pick; a channel the walk reached by scanning takes no step.
    }

    /// <inheritdoc/>
    public void NothingReserved(int channelCount, ref PickContext context)
    {
        // The step stays taken: putting it back could hand it to a later pick twice.
    }

    private bool AnyScheduledUsable(ReadOnlySpan<ChannelCandidate> channels)
    {
        var known = Math.Min(channels.Length, weights.Length);
        for (var c = 0; c < known; c++)
        {
            if (weights[c] > 0 && channels[c].Usable)
            {
                return true;
            }
        }

        return false;
    }

    private static int Next(int at, int period) => at + 1 >= period ? 0 : at + 1;
}
