namespace Balance.Policies;

/// <summary>
/// The one 64-bit mixer consistent hashing uses (SplitMix64's finaliser) and its fixed seeds. Fixed,
/// never per process (unlike <see cref="HashCode"/>), so two instances agree on every client.
/// </summary>
internal static class Mixing
{
    /// <summary>Seed of client keys.</summary>
    public const ulong AddressSeed = 0x6A09E667F3BCC908;

    /// <summary>Seed of a channel's first slot in the Maglev table.</summary>
    public const ulong OffsetSeed = 0xBB67AE8584CAA73B;

    /// <summary>Seed of a channel's step through the Maglev table.</summary>
    public const ulong SkipSeed = 0x3C6EF372FE94F82B;

    /// <summary>Added between probes of one client.</summary>
    public const ulong ProbeStep = 0x9E3779B97F4A7C15;

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
