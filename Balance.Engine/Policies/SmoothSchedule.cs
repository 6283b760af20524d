namespace Balance.Policies;

/// <summary>
/// One period of nginx's smooth weighted round robin over fixed weights: each step adds every
/// channel's weight to its current value, takes the largest (the first on a tie) and subtracts the
/// total from it. After total/gcd steps every current value is back at zero, so the period repeats
/// and a shared ticket into it reproduces nginx's sequence across any number of workers.
/// </summary>
internal static class SmoothSchedule
{
    /// <summary>The channel index of each step; channels of weight 0 or less never appear.</summary>
    public static ushort[] Build(ReadOnlySpan<int> weights)
    {
        var divisor = 0;
        long total = 0;
        foreach (var w in weights)
        {
            if (w > 0)
            {
                divisor = Gcd(divisor, w);
                total += w;
            }
        }

        if (total == 0)
        {
            return [];
        }

        // Weights divided by their gcd give the same sequence with a shorter period.
        var scaled = new long[weights.Length];
        for (var c = 0; c < weights.Length; c++)
        {
            scaled[c] = weights[c] > 0 ? weights[c] / divisor : 0;
        }

        total /= divisor;
        var schedule = new ushort[total];
        var current = new long[weights.Length];
        for (var step = 0; step < schedule.Length; step++)
        {
            var best = -1;
            for (var c = 0; c < scaled.Length; c++)
            {
                if (scaled[c] == 0)
                {
                    continue;
                }

                current[c] += scaled[c];
                if (best < 0 || current[c] > current[best])
                {
                    best = c;
                }
            }

            current[best] -= total;
            schedule[step] = (ushort)best;
        }

        return schedule;
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
