using Balance.Configuration;
using Balance.Control;

namespace Balance.Tests.CommandLine;

/// <summary>
/// A control segment in a <see cref="SegmentDirectory"/> that looks like a running instance to a
/// child <c>balance -c/-i</c>: this test process holds its owner lock. Lets the control modes be
/// tested end to end without an engine.
/// </summary>
public sealed class LiveSegment : IDisposable
{
    private static int nextPort = 20000 + (Environment.ProcessId % 500 * 20);
    private readonly FileLock owner;

    public LiveSegment(SegmentDirectory directory, string normalizedAddress = "127.0.0.1")
    {
        ArgumentNullException.ThrowIfNull(directory);
        Port = Interlocked.Increment(ref nextPort);
        Name = directory.NameFor(normalizedAddress, Port);
        owner = FileLock.TryAcquire(Name.OwnerLockPath) ?? throw new InvalidOperationException($"{Name.OwnerLockPath} is held");
        Segment = ControlSegment.Create(Name, new BalanceConfiguration { Port = Port, MaxGroups = 4, MaxChannelsPerGroup = 8 });
        Segment.Header.State = (int)EngineState.Running;
        Client = ControlClient.Open(Name);
    }

    public int Port { get; }

    public string PortText => Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public SegmentName Name { get; }

    public ControlSegment Segment { get; }

    public ControlClient Client { get; }

    /// <summary>Releases the owner lock when a kill is requested, as an engine would after stopping.</summary>
    public async Task StopOnKillAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref Segment.Header.KillRequested) == 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                return;
            }

            await Task.Delay(10);
        }

        Volatile.Write(ref Segment.Header.State, (int)EngineState.Stopped);
        owner.Dispose();
    }

    public void Dispose()
    {
        Client.Dispose();
        Segment.Dispose();
        owner.Dispose();
        foreach (var path in new[] { Name.Path, Name.OwnerLockPath, Name.ControlLockPath })
        {
            File.Delete(path);
        }
    }
}
