using System.Runtime.CompilerServices;
using Balance.Control;

namespace Balance.Policies;

/// <summary>
/// The failover walk every policy shares: groups from a given index on, empty groups skipped; in
/// each, the group's policy picks from a view of its channels, the walk reserves the pick's slot and,
/// where the policy allows it, scans forward for another. A channel is usable when its admin state
/// is enabled, its health not down, its weight above zero and a slot could be reserved below its
/// maxc; the same check holds on the first choice and on every failover step (the original ignored
/// maxc and the disabled flag when failing over into the next group). The policy of each group is
/// looked up again only when the segment's change version moves.
/// </summary>
internal sealed class ChannelSelector
{
    // Groups up to this size get their view on the stack; larger ones use a per-thread array.
    private const int StackViewLimit = 128;

    [ThreadStatic]
    private static ChannelCandidate[]? largeView;

    private readonly ControlSegment segment;
    private readonly Action<string>? notice;
    private PolicyTable table;

    /// <param name="segment">The live segment.</param>
    /// <param name="notice">Told once per rebuild of each group whose policy id this engine does not know.</param>
    public ChannelSelector(ControlSegment segment, Action<string>? notice = null)
    {
        ArgumentNullException.ThrowIfNull(segment);
        this.segment = segment;
        this.notice = notice;
        table = Build(null);
    }

    /// <summary>
    /// First usable channel in groups <paramref name="fromGroup"/>.. with its slot reserved, or none;
    /// for a caller that kept only the client's original hash (Maglev groups key on a mix of it).
    /// </summary>
    public ChannelChoice Select(int fromGroup, uint clientHash, bool hashFailover, TextWriter? debug) =>
        Select(fromGroup, clientHash, ClientHash.KeyOf(clientHash), hashFailover, debug);

    /// <summary>
    /// First usable channel in groups <paramref name="fromGroup"/>.. with its slot reserved, or none.
    /// <paramref name="clientKey"/> is <see cref="ClientHash.Key(System.Net.IPAddress)"/> of the client,
    /// what Maglev groups look up; <paramref name="clientHash"/> what <c>%</c> groups take modulo.
    /// </summary>
    [SkipLocalsInit] // Fill writes every entry a policy reads; zeroing the view would cost each pick.
    public ChannelChoice Select(int fromGroup, uint clientHash, ulong clientKey, bool hashFailover, TextWriter? debug)
    {
        var policies = Current();
        var buffer = segment.MaxChannels <= StackViewLimit ? stackalloc ChannelCandidate[StackViewLimit] : LargeView(segment.MaxChannels);
        for (var g = Math.Max(fromGroup, 0); g < segment.MaxGroups; g++)
        {
            var count = segment.ChannelCount(g);
            if (count == 0)
            {
                continue;
            }

            var view = buffer[..count];
            Fill(g, view);
            var channel = SelectInGroup(policies.For(g), g, view, clientHash, clientKey, hashFailover, debug);
            if (channel >= 0)
            {
                return new ChannelChoice(g, channel);
            }
        }

        return ChannelChoice.None;
    }

    /// <summary>
    /// After <paramref name="failed"/> could not be connected: the next usable channel of the same
    /// group scanning forward (wrapping) until <paramref name="firstTried"/> comes round, so each
    /// channel is tried at most once per group; -1 when the group is done or its policy does not
    /// scan. The round-robin position is not moved (see <see cref="Advance"/>).
    /// </summary>
    public int NextInGroup(int group, int failed, int firstTried, bool hashFailover)
    {
        if (!Current().For(group).ScansGroup(hashFailover))
        {
            return -1;
        }

        var count = segment.ChannelCount(group);
        if (count == 0 || (uint)firstTried >= (uint)count)
        {
            return -1;
        }

        for (var step = 1; step < count; step++)
        {
            var c = (failed + step) % count;
            if (c == firstTried)
            {
                return -1;
            }

            if (TryReserve(ref segment.Record(group, c)))
            {
                return c;
            }
        }

        return -1;
    }

    /// <summary>
    /// Moves the group's round-robin position past <paramref name="chosen"/>. A channel reached by a
    /// failover scan does it only once its connect succeeded, so the next client starts after the
    /// channel that works (the reference trace) while failed scan steps leave the position alone.
    /// </summary>
    public void Advance(int group, int chosen)
    {
        var count = segment.ChannelCount(group);
        if (count > 0)
        {
            Volatile.Write(ref segment.Group(group).RoundRobinPosition, (chosen + 1) % count);
        }
    }

    /// <summary>True when a new session may go to <paramref name="channel"/>: enabled, not down, weighted, its address whole, below maxc.</summary>
    public static bool IsUsable(ref ChannelRecord channel)
    {
        if (!IsServing(ref channel))
        {
            return false;
        }

        var max = Volatile.Read(ref channel.MaxConnections);
        return max <= 0 || Volatile.Read(ref channel.Connections) < max;
    }

    /// <summary>
    /// The usable check with the slot taken: one more connection fits under maxc (0 = unlimited),
    /// taken by compare-and-swap, so reservations on any number of workers never exceed maxc.
    /// </summary>
    public static bool TryReserve(ref ChannelRecord channel)
    {
        if (!IsServing(ref channel))
        {
            return false;
        }

        while (true)
        {
            var current = Volatile.Read(ref channel.Connections);
            var max = Volatile.Read(ref channel.MaxConnections);
            if (max > 0 && current >= max)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref channel.Connections, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Gives back a slot <see cref="TryReserve"/> took.</summary>
    public static void Release(ref ChannelRecord channel) => Interlocked.Decrement(ref channel.Connections);

    /// <summary>
    /// An odd address version is a write under way or one a dead writer left half done: the channel
    /// is skipped like a disabled one, so one torn address never costs a wait (TornAddressWatch reports it).
    /// </summary>
    private static bool IsServing(ref ChannelRecord channel) =>
        Volatile.Read(ref channel.AdminState) == (int)ChannelAdminState.Enabled
        && Volatile.Read(ref channel.Health) != (int)ChannelHealth.Down
        && Volatile.Read(ref channel.Weight) > 0
        && (Volatile.Read(ref channel.AddressVersion) & 1) == 0;

    private static ChannelCandidate[] LargeView(int count)
    {
        var view = largeView;
        if (view is null || view.Length < count)
        {
            largeView = view = new ChannelCandidate[count];
        }

        return view;
    }

    private int SelectInGroup(IBalancingPolicy policy, int group, Span<ChannelCandidate> view, uint clientHash, ulong clientKey, bool hashFailover, TextWriter? debug)
    {
        var count = view.Length;
        ref var record = ref segment.Group(group);
        var context = new PickContext(clientHash, clientKey, ref record.RoundRobinPosition, ref record.PolicySequence);
        var pick = policy.Pick(view, ref context);
        if (pick >= 0 && pick < count)
        {
            if (debug is not null)
            {
                policy.Trace(debug, PickStep.Picked, group, pick, count, clientHash);
            }

            if (TryReserve(ref segment.Record(group, pick)))
            {
                policy.Reserved(pick, count, ref context);
                return pick;
            }

            var scans = policy.ScansGroup(hashFailover);
            if (debug is not null)
            {
                policy.Trace(debug, scans ? PickStep.Scanning : PickStep.Refused, group, pick, count, clientHash);
            }

            if (scans)
            {
                for (var step = 1; step < count; step++)
                {
                    var c = (pick + step) % count;
                    if (TryReserve(ref segment.Record(group, c)))
                    {
                        if (debug is not null)
                        {
                            policy.Trace(debug, PickStep.ScanReserved, group, c, count, clientHash);
                        }

                        policy.Reserved(c, count, ref context);
                        return c;
                    }
                }

                if (debug is not null)
                {
                    policy.Trace(debug, PickStep.ScanFoundNothing, group, -1, count, clientHash);
                }
            }
        }

        policy.NothingReserved(count, ref context);
        return -1;
    }

    private void Fill(int group, Span<ChannelCandidate> view)
    {
        // A group's records follow each other and the count is clamped to the limit: one bounds check.
        ref var first = ref segment.Record(group, 0);
        for (var c = 0; c < view.Length; c++)
        {
            ref var record = ref Unsafe.Add(ref first, c);
            view[c] = new ChannelCandidate(c, record.Id, Volatile.Read(ref record.Weight), Volatile.Read(ref record.Connections), IsUsable(ref record));
        }
    }

    /// <summary>The table for the segment's current change version, rebuilt when it moved.</summary>
    private PolicyTable Current()
    {
        var current = Volatile.Read(ref table);
        if (current.Version == Volatile.Read(ref segment.Header.ChangeVersion))
        {
            return current;
        }

        var rebuilt = Build(current);
        Volatile.Write(ref table, rebuilt);
        return rebuilt;
    }

    private PolicyTable Build(PolicyTable? previous)
    {
        // The version is read first: a change during the build moves it again, and the next pick rebuilds.
        var version = Volatile.Read(ref segment.Header.ChangeVersion);
        var policies = new IBalancingPolicy[segment.MaxGroups];
        var buffer = new ChannelCandidate[segment.MaxChannels];
        for (var g = 0; g < policies.Length; g++)
        {
            var id = Volatile.Read(ref segment.Group(g).Policy);
            var policy = PolicyCatalog.Find(id);
            if (policy is null)
            {
                notice?.Invoke($"group {g} has policy id {id}, which this engine does not know; it balances round robin");
                policy = RoundRobinPolicy.Instance;
            }

            // Policies with per-group tables build them here, once per change, from the group's channels
            // (copying what they keep: the buffer serves every group).
            var view = buffer.AsSpan(0, segment.ChannelCount(g));
            Fill(g, view);
            policies[g] = policy.ForGroup(view, previous?.For(g));
        }

        return new PolicyTable(version, policies);
    }

    private sealed class PolicyTable(int version, IBalancingPolicy[] policies)
    {
        public int Version { get; } = version;

        public IBalancingPolicy For(int group) => policies[group];
    }
}
