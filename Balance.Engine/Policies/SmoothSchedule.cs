using System.Numerics;

namespace Balance.Policies;

/// <summary>
/// One period of nginx's smooth weighted round robin over fixed weights: each step adds every
/// channel's weight to its current value, takes the largest (the first on a tie) and subtracts the
/// total from it. After total/gcd steps every current value is back at zero, so the period repeats
/// and a shared ticket into it reproduces nginx's sequence across any number of workers.
/// </summary>
/// <remarks>
/// Channels of equal weight are taken in turn, in position order (they start level and the first of
/// the level ones wins), so a step only compares the next channel of each distinct weight, a vector
/// add and maximum over at most 256 keys: the build costs period x distinct weights / vector width
/// instead of period x channels.
/// </remarks>
internal static class SmoothSchedule
{
    // A class's key packs its current value, then the inverted position of its next channel (a tie
    // goes to the first position), then the class number, so one maximum over the keys is the pick.
    private const int ClassBits = 8;
    private const int PositionBits = 12;
    private const int ValueShift = ClassBits + PositionBits;
    private const int MaxPosition = (1 << PositionBits) - 1;

    /// <summary>The channel index of each step; channels of weight 0 or less never appear.</summary>
    public static ushort[] Build(ReadOnlySpan<int> weights)
    {
        var members = Classes(weights, out var weightOf, out var total);
        var lanes = Vector<long>.Count;
        var padded = (members.Length + lanes - 1) / lanes * lanes;

        // Padding lanes never win: they start far below any value and gain nothing.
        var keys = new long[padded];
        var gains = new long[padded];
        keys.AsSpan(members.Length).Fill(long.MinValue / 2);
        var turn = new int[members.Length];
        for (var k = 0; k < members.Length; k++)
        {
            keys[k] = Key(0, members[k][0], k);
            gains[k] = weightOf[k] << ValueShift;
        }

        var schedule = new ushort[total];
        for (var step = 0; step < schedule.Length; step++)
        {
            var best = AddAndFindMax(keys, gains);
            var k = (int)(best & ((1 << ClassBits) - 1));
            var taken = members[k][turn[k]];
            schedule[step] = (ushort)taken;

            // The next channel of the same weight is level with the one just taken until all had a turn.
            if (++turn[k] == members[k].Length)
            {
                turn[k] = 0;
                keys[k] -= (long)total << ValueShift;
            }

            keys[k] += (long)(taken - members[k][turn[k]]) << ClassBits;
        }

        return schedule;
    }

    private static long Key(long value, int position, int weightClass) =>
        (value << ValueShift) | ((long)(MaxPosition - position) << ClassBits) | (uint)weightClass;

    // Every class gains its weight; the largest key after that is the step's pick.
    private static long AddAndFindMax(long[] keys, long[] gains)
    {
        var lanes = Vector<long>.Count;
        var max = new Vector<long>(long.MinValue);
        for (var i = 0; i < keys.Length; i += lanes)
        {
            var sum = new Vector<long>(keys, i) + new Vector<long>(gains, i);
            sum.CopyTo(keys, i);
            max = Vector.Max(max, sum);
        }

        var best = long.MinValue;
        for (var lane = 0; lane < lanes; lane++)
        {
            best = Math.Max(best, max[lane]);
        }

        return best;
    }

    // The positions of each distinct positive weight (divided by the gcd of all), and the period.
    private static int[][] Classes(ReadOnlySpan<int> weights, out long[] weightOf, out int total)
    {
        var divisor = 0;
        foreach (var w in weights)
        {
            divisor = w > 0 ? Gcd(divisor, w) : divisor;
        }

        var byWeight = new SortedDictionary<int, List<int>>();
        long sum = 0;
        for (var c = 0; c < weights.Length; c++)
        {
            if (weights[c] > 0)
            {
                var w = weights[c] / divisor;
                sum += w;
                if (!byWeight.TryGetValue(w, out var positions))
                {
                    byWeight[w] = positions = [];
                }

                positions.Add(c);
            }
        }

        // Callers clamp weights to 256 over at most 4,096 channels, so the period fits an int.
        total = checked((int)sum);
        weightOf = byWeight.Keys.Select(w => (long)w).ToArray();
        return byWeight.Values.Select(p => p.ToArray()).ToArray();
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
