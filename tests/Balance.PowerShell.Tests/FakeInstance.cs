using System.Net;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;

namespace BalancePowerShellTests;

/// <summary>
/// A control segment that looks like a live instance without an engine: the test holds the owner
/// lock and keeps the port bound (so no other test can get it). It honours a kill request the way
/// an engine does, by releasing the owner lock, so Stop-Balance works against it too.
/// Layout: group 0 = round robin a:9101, b:9102 (maxc 3), c:9103; group 1 = hash d:9104 (disabled).
/// </summary>
public sealed class FakeInstance : IDisposable
{
    private readonly Socket portHolder;
    private readonly FileLock owner;
    private readonly ControlClient client;
    private readonly CancellationTokenSource stop = new();
    private readonly Thread killWatcher;
    private int disposed;

    public FakeInstance()
    {
        portHolder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        portHolder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)portHolder.LocalEndPoint!).Port;
        Name = SegmentName.For("127.0.0.1", Port);
        owner = FileLock.TryAcquire(Name.OwnerLockPath) ?? throw new InvalidOperationException(Name.OwnerLockPath + " is held");
        Segment = ControlSegment.Create(Name, new BalanceConfiguration { Port = Port, BindAddress = "127.0.0.1", MaxGroups = 4, MaxChannelsPerGroup = 8 }, 16);
        client = ControlClient.Open(Name);
        client.Create(0, "127.0.0.1", 9101, 0, enabled: true);
        client.Create(0, "127.0.0.1", 9102, 3, enabled: true);
        client.Create(0, "127.0.0.1", 9103, 0, enabled: true);
        client.Create(1, "127.0.0.1", 9104, 0, enabled: false);
        client.SetGroupType(1, GroupType.Hash);
        Segment.Channel(0, 0).BytesSent = 6;
        Segment.Channel(0, 0).BytesReceived = 18;
        Segment.Channel(0, 0).TotalConnections = 3;
        Segment.Channel(0, 1).Failures = 2;
        Segment.Header.State = (int)EngineState.Running;
        killWatcher = new Thread(WatchKill) { IsBackground = true };
        killWatcher.Start();
    }

    public int Port { get; }

    public SegmentName Name { get; }

    public ControlSegment Segment { get; }

    public ControlClient Client => client;

    public bool Killed { get; private set; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        stop.Cancel();
        killWatcher.Join(TimeSpan.FromSeconds(5));
        Release();
        client.Dispose();
        Segment.Dispose();
        portHolder.Dispose();
        foreach (var path in new[] { Name.Path, Name.OwnerLockPath, Name.ControlLockPath })
        {
            File.Delete(path);
        }

        stop.Dispose();
    }

    private void WatchKill()
    {
        while (!stop.IsCancellationRequested)
        {
            if (Volatile.Read(ref Segment.Header.KillRequested) != 0)
            {
                Killed = true;
                Segment.Header.State = (int)EngineState.Stopped;
                Release();
                return;
            }

            Thread.Sleep(10);
        }
    }

    private void Release()
    {
        lock (owner)
        {
            owner.Dispose();
        }
    }
}
