using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// One instance's channels in a drain: what a wait watches, names in its messages and, once they
/// are empty, may disable. The wait for several instances holds one of these per instance.
/// </summary>
internal sealed class DrainTarget(ControlClient client, string what)
{
    public ControlClient Client { get; } = client;

    /// <summary>How messages name the channels, e.g. "channel 1 of group 0 on 127.0.0.1:8080".</summary>
    public string What { get; set; } = what;

    public List<(int Group, int Channel)> Channels { get; } = [];

    /// <summary>Live connections left at the last look.</summary>
    public int Left { get; set; }
}
