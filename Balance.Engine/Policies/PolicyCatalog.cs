using System.Globalization;

namespace Balance.Policies;

/// <summary>
/// The policy ids this engine knows. Ids are open: a group record stores an int, new policies take
/// the next numbers, and the header's policy mask tells clients which ones the running engine knows.
/// Each policy also has a name (the cmdlets) and a word (the shell and the command line).
/// </summary>
public static class PolicyCatalog
{
    /// <summary>The original's round robin (<c>!</c>).</summary>
    public const int RoundRobin = 0;

    /// <summary>The original's client-hash modulo (<c>%</c>).</summary>
    public const int Hash = 1;

    /// <summary>Smooth weighted round robin (nginx's algorithm).</summary>
    public const int WeightedRoundRobin = 2;

    /// <summary>Least connections relative to weight, ties round robin.</summary>
    public const int LeastConnections = 3;

    /// <summary>Maglev consistent hashing of the client address, weighted.</summary>
    public const int Maglev = 4;

    private static readonly IBalancingPolicy[] Known =
        [RoundRobinPolicy.Instance, HashPolicy.Instance, WeightedRoundRobinPolicy.Instance, LeastConnectionsPolicy.Instance, MaglevPolicy.Instance];

    /// <summary>Every policy this engine knows, by id.</summary>
    public static IReadOnlyList<IBalancingPolicy> All => Known;

    /// <summary>Bit n set for each known id n: what the engine writes into the header.</summary>
    public static int Mask
    {
        get
        {
            var mask = 0;
            foreach (var p in Known)
            {
                mask |= 1 << p.Id;
            }

            return mask;
        }
    }

    /// <summary>The policy with <paramref name="id"/>, or null when this engine does not know it.</summary>
    public static IBalancingPolicy? Find(int id) => (uint)id < (uint)Known.Length ? Known[id] : null;

    /// <summary>
    /// The policy whose <see cref="IBalancingPolicy.Name"/> or <see cref="IBalancingPolicy.Word"/> is
    /// <paramref name="text"/> (any case), or null; <see cref="Words"/> lists what is accepted.
    /// </summary>
    public static IBalancingPolicy? FindByName(string? text)
    {
        foreach (var p in Known)
        {
            if (string.Equals(p.Name, text, StringComparison.OrdinalIgnoreCase) || string.Equals(p.Word, text, StringComparison.OrdinalIgnoreCase))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>Every policy's word in id order, for help texts, completion and error messages ("rr, hash, wrr, leastconn, maglev").</summary>
    public static string Words => string.Join(", ", Known.Select(p => p.Word));

    /// <summary>The policy's name, or "policy N" for an id this build does not know.</summary>
    public static string NameOf(int id) => Find(id)?.Name ?? string.Create(CultureInfo.InvariantCulture, $"policy {id}");

    /// <summary>The <c>show</c> Type text, or the bare id for an id this build does not know.</summary>
    public static string ShowNameOf(int id) => Find(id)?.ShowName ?? id.ToString(CultureInfo.InvariantCulture);
}
