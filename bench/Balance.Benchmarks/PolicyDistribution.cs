using System.Globalization;
using System.Net;
using Balance.Policies;

namespace Balance.Benchmarks;

/// <summary>
/// How the policies spread clients, measured rather than timed (`dotnet run -c Release --project
/// bench/Balance.Benchmarks -- distribution`): Maglev's imbalance and remap share against a table
/// rebuilt without the removed channel and against the original fold as key, and weighted round
/// robin's longest run of one channel when several workers accept at once and share its ticket or
/// keep their own.
/// </summary>
internal static class PolicyDistribution
{
    public static void Run(TextWriter output)
    {
        var loopback = Enumerable.Range(0, 10_000).Select(i => new IPAddress([127, (byte)(1 + (i >> 16)), (byte)(i >> 8), (byte)i])).ToArray();
        var tenNet = Enumerable.Range(0, 100_000).Select(i => new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i])).ToArray();
        output.WriteLine("| Clients | Key | Weights | Imbalance (max/mean) | Moved when channel 3 goes down | Moved if the table were rebuilt without it | Of those, clients of the other four |");
        output.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, clients) in new[] { ("10,000 x 127.1.y.z", loopback), ("100,000 x 10.x.y.z", tenNet) })
        {
            Maglev(output, name, "address", clients.Select(ClientHash.Key).ToArray(), [1, 1, 1, 1, 1]);
            Maglev(output, name, "fold", clients.Select(a => ClientHash.KeyOf(ClientHash.Compute(a))).ToArray(), [1, 1, 1, 1, 1]);
            Maglev(output, name, "address", clients.Select(ClientHash.Key).ToArray(), [1, 2, 3, 2, 2]);
        }

        output.WriteLine();
        output.WriteLine("| Build | Channels | Weights | Time (best of 3) |");
        output.WriteLine("| --- | --- | --- | --- |");
        foreach (var (count, spread) in new[] { (64, 64), (4096, 4), (4096, 256) })
        {
            var channels = Enumerable.Range(0, count).Select(i => new ChannelCandidate(i, i + 1, (i % spread) + 1, 0, true)).ToArray();
            BuildCost(output, "smooth schedule", channels, spread, WeightedRoundRobinPolicy.Instance);
            BuildCost(output, "Maglev table", channels, spread, MaglevPolicy.Instance);
        }

        output.WriteLine();
        output.WriteLine("| Weights | Workers | Ticket | Longest run of one channel | Largest share error |");
        output.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var weights in new[] { new[] { 1, 1, 1 }, [5, 1, 1], [1, 2, 3, 4] })
        {
            foreach (var ticket in Enum.GetValues<Ticket>())
            {
                Smooth(output, weights, 4, ticket);
            }
        }
    }

    private static void Maglev(TextWriter output, string name, string keyName, ulong[] keys, int[] weights)
    {
        var channels = weights.Select((w, i) => new ChannelCandidate(i, i + 1, w, 0, true)).ToArray();
        var policy = MaglevPolicy.Instance.ForGroup(channels, null);
        var before = keys.Select(k => Pick(policy, channels, k)).ToArray();

        var down = channels.ToArray();
        down[3] = down[3] with { Usable = false };
        var moved = keys.Select(k => Pick(policy, down, k)).Where((c, i) => c != before[i]).Count();

        // Maglev as the paper runs it: a new table over the four that remain.
        var remaining = channels.Where(c => c.Index != 3).Select((c, i) => c with { Index = i }).ToArray();
        var rebuilt = MaglevPolicy.Instance.ForGroup(remaining, null);
        var after = keys.Select(k => remaining[Pick(rebuilt, remaining, k)].Id).ToArray();
        var movedRebuilt = after.Where((id, i) => id != channels[before[i]].Id).Count();
        var othersRebuilt = after.Where((id, i) => before[i] != 3 && id != channels[before[i]].Id).Count();

        var total = weights.Sum();
        var imbalance = Enumerable.Range(0, weights.Length).Max(c => before.Count(b => b == c) / (keys.Length * (double)weights[c] / total));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {name} | {keyName} | {string.Join(" ", weights)} | {imbalance:F3} | {100.0 * moved / keys.Length:F2} % | {100.0 * movedRebuilt / keys.Length:F2} % | {100.0 * othersRebuilt / keys.Length:F2} % |"));
    }

    private static void BuildCost(TextWriter output, string name, ChannelCandidate[] channels, int spread, IBalancingPolicy policy)
    {
        var best = TimeSpan.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            policy.ForGroup(channels, null);
            best = watch.Elapsed < best ? watch.Elapsed : best;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {channels.Length} | 1..{spread} | {best.TotalMilliseconds:F1} ms |"));
    }

    private static int Pick(IBalancingPolicy policy, ChannelCandidate[] channels, ulong key)
    {
        var position = 0;
        var sequence = 0;
        var context = new PickContext(0, key, ref position, ref sequence);
        return policy.Pick(channels, ref context);
    }

    // Four workers each accept one client at the same moment, round after round (the burst case):
    // with the shared ticket the four picks of a round are four steps of nginx's sequence; with a
    // ticket per worker, all four start level (or staggered by a quarter period) and pick alike.
    private static void Smooth(TextWriter output, int[] weights, int workers, Ticket ticket)
    {
        const int Rounds = 50_000;
        var channels = weights.Select((w, i) => new ChannelCandidate(i, i + 1, w, 0, true)).ToArray();
        var policy = (WeightedRoundRobinPolicy)WeightedRoundRobinPolicy.Instance.ForGroup(channels, null);
        var tickets = Enumerable.Range(0, workers).Select(w => ticket == Ticket.Staggered ? w * policy.Period / workers : 0).ToArray();
        var log = new int[workers * Rounds];
        var position = 0;
        for (var r = 0; r < Rounds; r++)
        {
            for (var w = 0; w < workers; w++)
            {
                var context = new PickContext(0, 0, ref position, ref tickets[ticket == Ticket.Shared ? 0 : w]);
                log[(r * workers) + w] = policy.Pick(channels, ref context);
            }
        }

        var longest = 0;
        var run = 0;
        for (var i = 0; i < log.Length; i++)
        {
            run = i > 0 && log[i] == log[i - 1] ? run + 1 : 1;
            longest = Math.Max(longest, run);
        }

        var total = weights.Sum();
        var error = Enumerable.Range(0, weights.Length).Max(c => Math.Abs((log.Count(x => x == c) / (log.Length * (double)weights[c] / total)) - 1));
        var name = ticket switch
        {
            Ticket.Shared => "shared (this design)",
            Ticket.PerWorker => "one per worker",
            _ => "one per worker, staggered",
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {string.Join(" ", weights)} | {workers} | {name} | {longest} | {100 * error:F3} % |"));
    }

    private enum Ticket
    {
        Shared,
        PerWorker,
        Staggered,
    }
}
