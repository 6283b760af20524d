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
        var classes = WeightClass.Of(weights, out var total);
        var schedule = new ushort[total];
        for (var step = 1; step <= schedule.Length; step++)
        {
            WeightClass? best = null;
            long bestValue = 0;
            foreach (var weightClass in classes)
            {
                // The current value of the class's next channel: step x weight - total x its picks.
                var value = (step * weightClass.Weight) - (total * weightClass.PicksOfNext);
                if (best is null || value > bestValue || (value == bestValue && weightClass.Next < best.Next))
                {
                    best = weightClass;
                    bestValue = value;
                }
            }

            schedule[step - 1] = (ushort)best!.Take();
        }

        return schedule;
    }

    /// <summary>Channels of one weight (divided by the gcd of all), taken in turn.</summary>
    private sealed class WeightClass(long weight, int[] members)
    {
        private long taken;

        public long Weight { get; } = weight;

        /// <summary>The channel whose turn it is.</summary>
        public int Next => members[(int)(taken % members.Length)];

        /// <summary>How often <see cref="Next"/> was picked so far.</summary>
        public long PicksOfNext => taken / members.Length;

        public int Take()
        {
            var channel = Next;
            taken++;
            return channel;
        }

        public static List<WeightClass> Of(ReadOnlySpan<int> weights, out int total)
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
                    if (!byWeight.TryGetValue(w, out var members))
                    {
                        byWeight[w] = members = [];
                    }

                    members.Add(c);
                }
            }

            // Callers clamp weights to 256 over at most 4,096 channels, so the period fits an int.
            total = checked((int)sum);
            return byWeight.Select(pair => new WeightClass(pair.Key, [.. pair.Value])).ToList();
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
}
