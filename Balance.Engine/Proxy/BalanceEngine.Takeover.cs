using System.Globalization;
using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Metrics;
using Balance.Transport;

namespace Balance.Proxy;

/// <summary>Zero-downtime replacement of a running engine by another one on the same endpoint (docs/restart.md).</summary>
public sealed partial class BalanceEngine
{
    private const long TakeoverRetryMs = 1000;

    /// <summary>
    /// Starts an engine that takes over the instance running on <paramref name="configuration"/>'s
    /// endpoint: it adopts that engine's listening sockets (their queues and all) and owner lock,
    /// copies its live layout, accepts, then takes the segment's name in one rename; the old engine
    /// then stops accepting, drains for its grace period and stops. Engine options (workers,
    /// timeouts, checks, metrics) come from <paramref name="configuration"/>, which must give no
    /// channels. Every failure is a <see cref="ConfigurationException"/> or <see cref="ControlException"/>
    /// of one line, and the running engine keeps serving.
    /// </summary>
    public static BalanceEngine TakeOver(BalanceConfiguration configuration, EngineOutput? output = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Validate();
        if (configuration.Groups.Count > 0)
        {
            throw new ConfigurationException("a takeover copies the running instance's groups and channels: give none with --takeover (change them with the shell once it has taken over)", "--takeover", ExitCodes.Usage);
        }

        if (!TakeoverChannel.IsSupported)
        {
            throw new ConfigurationException("--takeover needs Linux (descriptor passing and sealed segments); stop the instance and start it again instead", "--takeover", ExitCodes.Unavailable);
        }

        _ = TransportFactory.RuntimeSocketsRequested();
        output ??= new EngineOutput();
        var outbound = OutboundBinding.Resolve(configuration.OutboundAddress);
        var listenAddress = SegmentName.ResolveListenAddress(configuration.BindAddress, configuration.IPv6);
        var name = SegmentName.FromNormalized(listenAddress.ToString(), configuration.Port);
        var endpoint = new IPEndPoint(listenAddress, configuration.Port);
        using var client = TakeoverClient.Open(name);
        var config = configuration.WithLimitsSized() with
        {
            MaxGroups = Math.Max(configuration.MaxGroups, client.Old.MaxGroups),
            MaxChannelsPerGroup = Math.Max(configuration.MaxChannelsPerGroup, client.Old.MaxChannels),
        };

        BalanceEngine? engine = null;
        try
        {
            var ownerLock = FileLock.Adopt(client.TakeOwnerDescriptor(), name.OwnerLockPath);
            Listener[][] perWorker;
            try
            {
                perWorker = TakeoverListeners.Adopt(client.TakeListeners(), endpoint, config.EffectiveWorkers, config.Keepalive);
            }
            catch (Exception e) when (e is IOException or ConfigurationException or System.Net.Sockets.SocketException)
            {
                ownerLock.Dispose();
                throw client.Failed("adopting the listening sockets", e);
            }

            engine = Prepare(name, config, outbound, output, perWorker, ownerLock, client.Old);
            engine.StartWorkers();
            engine.Begin();
            client.Ready();
            engine.segment.PublishReplacing();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not committed: the running engine still owns everything; this one lets what it
            // accepted finish, closes its copies and leaves the name alone.
            engine?.Abandon();
            throw e is ConfigurationException or ControlException ? e : client.Failed("starting the new engine", e);
        }

        Volatile.Write(ref engine.ownsName, 1);
        var released = client.Accepting();
        engine.AfterTakeover(client.OldPid, released, name);
        return engine;
    }

    /// <summary>The new engine over a fresh, unpublished segment holding the old one's layout; nothing runs yet.</summary>
    private static BalanceEngine Prepare(SegmentName name, BalanceConfiguration config, OutboundBinding outbound, EngineOutput output, Listener[][] perWorker, FileLock ownerLock, ControlSegment old)
    {
        ControlSegment? segment = null;
        try
        {
            segment = ControlSegment.CreateUnpublished(name, config, stripes: perWorker.Length);
            LayoutCopy.Copy(old, segment);
            var engine = new BalanceEngine(segment, config, outbound, output, perWorker, ownerLock);
            Volatile.Write(ref engine.ownsName, 0);
            return engine;
        }
        catch
        {
            segment?.Dispose();
            ownerLock.Dispose();
            foreach (var listener in perWorker.SelectMany(l => l))
            {
                listener.Dispose();
            }

            throw;
        }
    }

    /// <summary>Stops an engine whose takeover did not commit, waiting for its grace period; its own fault is secondary to the takeover's.</summary>
    private void Abandon()
    {
        try
        {
            StopAsync().Wait();
        }
        catch (AggregateException)
        {
            // Reported through the takeover's failure line instead.
        }
    }

    /// <summary>The name is this engine's: metrics (the old engine released the port), the takeover socket, the events.</summary>
    private void AfterTakeover(int oldPid, bool released, SegmentName name)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"took over from pid {oldPid}{(released ? string.Empty : " (it did not confirm that it stopped accepting)")}");
        Publish(EngineEventKind.Started, text);
        workers[0].Context.Debug?.WriteLine(text);
        if (configuration.MetricsEndpoint is { } at)
        {
            try
            {
                Volatile.Write(ref metrics, MetricsServer.Start(at, name));
            }
            catch (ConfigurationException e)
            {
                ReportFault(-1, -1, "metrics not served after the takeover: " + e.Message);
            }
        }

        ListenForTakeover();
    }

    private void ListenForTakeover()
    {
        // Out of descriptors the first try fails: report that once and try again on the tick.
        var quiet = Volatile.Read(ref takeoverRetryAt) != 0;
        var server = TakeoverServer.Start(segment.Name, new Handover(this), text =>
        {
            if (!quiet)
            {
                ReportFault(-1, -1, text);
            }
        }, out var retryLater);
        Volatile.Write(ref takeoverServer, server);
        Volatile.Write(ref takeoverRetryAt, retryLater ? Environment.TickCount64 + TakeoverRetryMs : 0);
        if (server is not null && quiet)
        {
            ReportFault(-1, -1, "takeover available again");
        }
    }

    private void RetryTakeoverListen()
    {
        var at = Volatile.Read(ref takeoverRetryAt);
        if (at != 0 && Environment.TickCount64 >= at && Volatile.Read(ref stopping) == 0)
        {
            ListenForTakeover();
        }
    }

    /// <summary>The running engine's part: what it lends the takeover server, and what each step does to it.</summary>
    private sealed class Handover(BalanceEngine engine) : IHandover
    {
        public string? RefusalReason => Volatile.Read(ref engine.stopping) != 0 ? "the instance is stopping" : null;

        public int OwnerDescriptor => engine.ownerLock.Descriptor;

        public int[] ShareListeners()
        {
            var distinct = new List<int>();
            foreach (var listener in engine.listeners)
            {
                listener.MarkShared();
                var fd = (int)listener.Handle.DangerousGetHandle();
                if (!distinct.Contains(fd))
                {
                    distinct.Add(fd);
                }
            }

            return distinct.ToArray();
        }

        public void Committing(int pid)
        {
            Volatile.Write(ref engine.ownsName, 0);
            engine.segment.ReleaseLocator(reclaim: false);
        }

        public void HandOver(int pid)
        {
            var text = string.Create(CultureInfo.InvariantCulture, $"handed over to pid {pid}: stopped accepting, {engine.SessionCount} sessions drain");
            engine.Publish(EngineEventKind.Stopping, text);
            engine.workers[0].Context.Notices?.WriteLine(text);
            foreach (var worker in engine.workers)
            {
                worker.StopAccepting();
            }

            Interlocked.Exchange(ref engine.metrics, null)?.Dispose();
            engine.takeoverServer?.Dispose();
            engine.BeginStop(engine.configuration.GracePeriod, null);
        }

        public void Resume(string step, string why)
        {
            engine.segment.ReleaseLocator(reclaim: true);
            Volatile.Write(ref engine.ownsName, 1);
            engine.ReportFault(-1, -1, $"takeover failed {step}: {why}; still serving");
        }
    }
}
