namespace Balance.Policies;

/// <summary>
/// One period of nginx's smooth weighted round robin over fixed weights: each step adds every
/// channel's weight to its current value, takes the largest (the first on a tie) and subtracts the
/// total from it. After total/gcd steps every current value is back at zero, so the period repeats
/// and a shared ticket into it reproduces nginx's sequence across any number of workers.
/// </summary>
/// <remarks>
/// Channels of equal weight are taken in turn, in position order (they start level and the first of
/// the level ones wins), so a step only compares the next channel of each distinct weight: the build
/// costs period x distinct weights instead of period x channels.
/// </remarks>
internal static class SmoothSchedule
{
    /// <summary>The channel index of each step; channels of weight 0 or less never appear.</summary>
    public static ushort[] Build(ReadOnlySpan<int> weights)
    {
        var members = Classes(weights, out var weightOf, out var total);
        var count = members.Length;

        // Per distinct weight: the current value of the channel whose turn it is, and which one that is.
        var value = new long[count];
        var turn = new int[count];
        var next = new int[count];
        for (var k = 0; k < count; k++)
        {
            next[k] = members[k][0];
        }

        var schedule = new ushort[total];
        for (var step = 0; step < schedule.Length; step++)
        {
            var best = 0;
            var bestValue = long.MinValue;
            for (var k = 0; k < count; k++)
            {
                var v = value[k] + weightOf[k];
                value[k] = v;
                if (v > bestValue || (v == bestValue && next[k] < next[best]))
                {
                    best = k;
                    bestValue = v;
                }
            }

            schedule[step] = (ushort)next[best];

            // The next channel of the same weight is level with the one just taken until all had a turn.
            if (++turn[best] == members[best].Length)
            {
                turn[best] = 0;
                value[best] -= total;
            }

            next[best] = members[best][turn[best]];
        }

        return schedule;
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
