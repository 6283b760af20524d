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
internal sealed class FakeInstance : IDisposable
{
    private readonly TcpListener portReservation;
    private readonly FileLock ownerLock;
    private readonly CancellationTokenSource stopping = new();
    private Task? background;

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

    /// <summary>Acts as an engine that honours a kill request: releases the endpoint once asked.</summary>
    public Task ObeyKillAsync(TimeSpan limit)
    {
        var task = Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow + limit;
            while (Volatile.Read(ref Segment.Header.KillRequested) == 0)
            {
                if (DateTime.UtcNow > deadline || stopping.IsCancellationRequested)
                {
                    return;
                }

                await Task.Delay(10);
            }

            Segment.Header.State = (int)EngineState.Stopped;
            ownerLock.Dispose();
        });
        background = task;
        return task;
    }

    /// <summary>A second client, as another process would open one.</summary>
    public ControlClient OpenClient() => ControlClient.Open(Name);

    /// <summary>Simulates a crash: the owner lock goes away, the segment file stays.</summary>
    public void ReleaseOwnerOnly() => ownerLock.Dispose();

    public void Dispose()
    {
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
