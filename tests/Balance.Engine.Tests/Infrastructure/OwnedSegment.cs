using Balance.Configuration;
using Balance.Control;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// A control segment that looks live to control clients without an engine behind it: the test
/// holds the owner lock itself. Lets control-plane tests run without sockets.
/// </summary>
public sealed class OwnedSegment : IDisposable
{
    // Below the ephemeral range, so engine tests that take OS-chosen ports never collide with these names.
    private static int nextPort = 10000 + (Environment.ProcessId % 1000 * 20);
    private readonly FileLock owner;

    public OwnedSegment(int maxGroups = 4, int maxChannels = 8, int eventCapacity = 16)
    {
        Port = Interlocked.Increment(ref nextPort);
        Name = SegmentName.FromNormalized("127.0.0.1", Port);
        owner = FileLock.TryAcquire(Name.OwnerLockPath) ?? throw new InvalidOperationException($"{Name.OwnerLockPath} is held");
        var configuration = new BalanceConfiguration { Port = Port, MaxGroups = maxGroups, MaxChannelsPerGroup = maxChannels };
        Segment = ControlSegment.Create(Name, configuration, eventCapacity);
        Segment.Header.State = (int)EngineState.Running;
    }

    public int Port { get; }

    public SegmentName Name { get; }

    public ControlSegment Segment { get; }

    public ControlClient OpenClient() => ControlClient.Open(Name);

    /// <summary>Simulates a crash: the owner lock goes away but the segment file stays.</summary>
    public void ReleaseOwnerOnly() => owner.Dispose();

    public void Dispose()
    {
        Segment.Dispose();
        owner.Dispose();
        foreach (var path in new[] { Name.Path, Name.OwnerLockPath, Name.ControlLockPath })
        {
            File.Delete(path);
        }
    }
}
