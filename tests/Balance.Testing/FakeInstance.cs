using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// A control segment with a live owner but no engine: the test holds the owner lock, so
/// <see cref="ControlClient.Open(SegmentName)"/> accepts it. A bound listener on the port keeps
/// any other test (or engine) from choosing the same endpoint, and so the same segment.
/// </summary>
public sealed class FakeInstance : IDisposable
{
    private readonly TcpListener portReservation;
    private readonly FileLock ownerLock;
    private readonly CancellationTokenSource stopping = new();
    private Task? background;
    private int disposed;

    public FakeInstance(int maxGroups = 4, int maxChannels = 8, TimeSpan? gracePeriod = null, int eventCapacity = SegmentLayout.DefaultEventCapacity, int stripes = 1)
    {
        portReservation = new TcpListener(IPAddress.Loopback, 0);
        portReservation.Start();
        Port = ((IPEndPoint)portReservation.LocalEndpoint).Port;
        Name = SegmentName.FromNormalized("127.0.0.1", Port);
        ownerLock = FileLock.TryAcquire(Name.OwnerLockPath)
            ?? throw new InvalidOperationException($"owner lock {Name.OwnerLockPath} is held by someone else");
        var configuration = new BalanceConfiguration
        {
            Port = Port,
            BindAddress = "127.0.0.1",
            MaxGroups = maxGroups,
            MaxChannelsPerGroup = maxChannels,
            GracePeriod = gracePeriod ?? TimeSpan.Zero,
        };
        Segment = ControlSegment.Create(Name, configuration, eventCapacity, stripes);
        Segment.Header.State = (int)EngineState.Running;
        Client = ControlClient.Open(Name);
    }

    public int Port { get; }

    public SegmentName Name { get; }

    public ControlSegment Segment { get; }

    public ControlClient Client { get; }

    /// <summary>True once a kill request was obeyed (<see cref="ObeyKillAsync"/>).</summary>
    public bool Killed { get; private set; }

    /// <summary>
    /// The instance the cmdlet tests share: group 0 = round robin 127.0.0.1:9101, :9102 (maxc 3),
    /// :9103; group 1 = hash :9104 (disabled); a few counters set; a kill is obeyed until disposed,
    /// so Stop-Balance works against it too.
    /// </summary>
    public static FakeInstance WithSampleChannels()
    {
        var fake = new FakeInstance(eventCapacity: 16);
        try
        {
            fake.AddChannel(0, "127.0.0.1", 9101);
            fake.AddChannel(0, "127.0.0.1", 9102, maxc: 3);
            fake.AddChannel(0, "127.0.0.1", 9103);
            fake.AddChannel(1, "127.0.0.1", 9104, enabled: false);
            fake.Client.SetGroupType(1, GroupType.Hash);
            fake.SetCounters(0, 0, connections: 0, total: 3, sent: 6, received: 18);
            fake.Segment.Channel(0, 1).Failures = 2;
            _ = fake.ObeyKillAsync(Timeout.InfiniteTimeSpan);
            return fake;
        }
        catch
        {
            fake.Dispose();
            throw;
        }
    }

    /// <summary>Creates a channel as the engine would at start (any state, any group type).</summary>
    public int AddChannel(int group, string host, int port, bool enabled = true, int maxc = 0)
    {
        return Client.Create(group, host, port, maxc, enabled);
    }

    public void SetCounters(int group, int channel, int connections, long total, long sent, long received, long failures = 0)
    {
        var c = Segment.Channel(group, channel);
        c.Connections = connections;
        c.TotalConnections = total;
        c.BytesSent = sent;
        c.BytesReceived = received;
        c.Failures = failures;
    }

    /// <summary>
    /// Acts as an engine that honours a kill request: releases the endpoint once asked, within
    /// <paramref name="limit"/> (<see cref="Timeout.InfiniteTimeSpan"/>: until disposed).
    /// </summary>
    public Task ObeyKillAsync(TimeSpan limit)
    {
        var task = Task.Run(async () =>
        {
            var deadline = limit == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + limit;
            while (Volatile.Read(ref Segment.Header.KillRequested) == 0)
            {
                if (DateTime.UtcNow > deadline || stopping.IsCancellationRequested)
                {
                    return;
                }

                await Task.Delay(10);
            }

            Segment.Header.State = (int)EngineState.Stopped;
            Killed = true;
            ownerLock.Dispose();
        });
        background = task;
        return task;
    }

    /// <summary>A second client, as another process would open one.</summary>
    public ControlClient OpenClient() => ControlClient.Open(Name);

    /// <summary>Simulates a crash: the owner lock goes away, the segment file stays.</summary>
    public void ReleaseOwnerOnly() => ownerLock.Dispose();

    /// <summary>Releases everything; a second call (a test that ended the instance early) does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        // The watcher reads the mapping: it must be gone before the mapping is, even when a test failed early.
        stopping.Cancel();
        background?.Wait(TimeSpan.FromSeconds(10));
        stopping.Dispose();
        Client.Dispose();
        Segment.Dispose();
        ownerLock.Dispose();
        foreach (var path in new[] { Name.Path, Name.OwnerLockPath, Name.ControlLockPath })
        {
            File.Delete(path);
        }

        portReservation.Stop();
        portReservation.Dispose();
    }
}
