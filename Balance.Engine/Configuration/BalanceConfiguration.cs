namespace Balance.Configuration;

/// <summary>
/// Everything an engine needs to start, shared by the <c>balance</c> command line and
/// <c>Start-Balance</c>. Immutable: live changes go through the control segment, never through this.
/// </summary>
public sealed record BalanceConfiguration
{
    /// <summary>Groups the control segment has room for when the caller does not say.</summary>
    public const int DefaultMaxGroups = 32;

    /// <summary>Channels per group the control segment has room for when the caller does not say.</summary>
    public const int DefaultMaxChannelsPerGroup = 64;

    /// <summary>The largest <see cref="MaxGroups"/> accepted.</summary>
    public const int LimitMaxGroups = 1024;

    /// <summary>The largest <see cref="MaxChannelsPerGroup"/> accepted.</summary>
    public const int LimitMaxChannelsPerGroup = 4096;

    /// <summary>The most workers an engine runs (<see cref="Workers"/>).</summary>
    public const int LimitWorkers = 1024;

    /// <summary>Listen address as the user wrote it (<c>-b</c>); null = every address.</summary>
    public string? BindAddress { get; init; }

    /// <summary>The TCP port clients connect to, and the default port of a channel written without one.</summary>
    public int Port { get; init; }

    /// <summary><c>-6</c>: without <c>-b</c> listen on <c>[::]</c> (dual stack); with <c>-b</c> resolve to IPv6 only.</summary>
    public bool IPv6 { get; init; }

    /// <summary><c>-B</c>: local address for back-end connections.</summary>
    public string? OutboundAddress { get; init; }

    /// <summary><c>-t</c>: how long a back-end connect may take before the next channel is tried.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>-T</c>: close a session with no data either way for this long; zero = never.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>How long <c>kill</c>/<c>Stop-Balance</c> lets live sessions finish before closing them.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>-a</c>: a channel whose connect fails is disabled until someone enables it again.</summary>
    public bool AutoDisable { get; init; }

    /// <summary><c>-H</c>: in a hash group, try the next channels when the hashed one cannot serve.</summary>
    public bool HashFailover { get; init; }

    /// <summary><c>-p</c>: write every relayed chunk to the packet dump output.</summary>
    public bool PacketDump { get; init; }

    /// <summary><c>-d</c>: trace each channel tried and how its connect went, as the original did.</summary>
    public bool Debug { get; init; }

    /// <summary>The channel groups in the order clients fall through them (the <c>!</c>/<c>%</c>-separated operands).</summary>
    public IReadOnlyList<GroupSpec> Groups { get; init; } = [];

    /// <summary>Groups the control segment has room for, so groups can be added while the engine runs.</summary>
    public int MaxGroups { get; init; } = DefaultMaxGroups;

    /// <summary>
    /// <c>--metrics</c>: where the instance serves <c>/metrics</c> and its status page; null = off.
    /// Never the proxied port.
    /// </summary>
    public System.Net.IPEndPoint? MetricsEndpoint { get; init; }

    /// <summary>Channels per group the control segment has room for, so channels can be added while the engine runs.</summary>
    public int MaxChannelsPerGroup { get; init; } = DefaultMaxChannelsPerGroup;

    /// <summary>
    /// <c>--workers</c>: how many workers relay, each with its own loop, listening socket and
    /// sessions; 0 (the default) = one per CPU the process may run on.
    /// </summary>
    public int Workers { get; init; }

    /// <summary>
    /// <c>--keepalive IDLE,INTERVAL,COUNT</c>: TCP keepalive timing on the client and the back-end
    /// socket of every session; null (the default) keeps the system's timing, as the original did.
    /// </summary>
    public KeepaliveTiming? Keepalive { get; init; }

    /// <summary>
    /// <c>--state-file</c>: the layout file the engine keeps current while it runs, rewriting it
    /// after every change (docs/layout-file.md); null = none.
    /// </summary>
    public string? StateFile { get; init; }

    /// <summary>Active and passive health checks (<c>--check-interval</c>, <c>--max-fails</c>, ...); off unless set.</summary>
    public HealthCheckOptions Checks { get; init; } = HealthCheckOptions.None;

    /// <summary>The worker count in force: <see cref="Workers"/>, or one per CPU the process may run on (its affinity) when 0.</summary>
    public int EffectiveWorkers => Workers > 0 ? Workers : Math.Min(Environment.ProcessorCount, LimitWorkers);

    /// <summary>
    /// Waits through the runtime's asynchronous socket operations instead of the engine's own
    /// epoll loop (which exists on Linux x86-64 only), as <c>BALANCE_IO=runtime</c> does; the
    /// tests run the relay both ways with it.
    /// </summary>
    internal bool RuntimeSockets { get; init; }

    /// <summary>Checks what can be checked without the network; throws <see cref="ConfigurationException"/> naming the bad value.</summary>
    public void Validate()
    {
        if (Port is < 1 or > 65535)
        {
            throw new ConfigurationException($"invalid port [{Port}]: use 1-65535", Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (ConnectTimeout < TimeSpan.FromMilliseconds(1) || ConnectTimeout > TimeSpan.FromDays(1))
        {
            throw new ConfigurationException($"invalid connect timeout [{ConnectTimeout}]: use 1 ms to 1 day", "-t");
        }

        if (IdleTimeout < TimeSpan.Zero || IdleTimeout > TimeSpan.FromDays(24))
        {
            throw new ConfigurationException($"invalid idle timeout [{IdleTimeout}]: use 0 (never) up to 24 days", "-T");
        }

        if (GracePeriod < TimeSpan.Zero || GracePeriod > TimeSpan.FromHours(1))
        {
            throw new ConfigurationException($"invalid grace period [{GracePeriod}]: use 0 to 1 hour", "grace");
        }

        if (Workers is < 0 or > LimitWorkers)
        {
            throw new ConfigurationException($"invalid worker count [{Workers}]: use 1-{LimitWorkers}, or 0 for one per CPU", "--workers");
        }

        Keepalive?.Validate();
        if (MetricsEndpoint is { } metrics && metrics.Port == Port)
        {
            throw new ConfigurationException($"invalid metrics endpoint [{metrics}]: it must not use the proxied port {Port}; give a port of its own, e.g. 127.0.0.1:9100", "--metrics", ExitCodes.Usage);
        }

        ArgumentNullException.ThrowIfNull(Checks);
        Checks.Validate();
        if (MaxGroups is < 1 or > LimitMaxGroups)
        {
            throw new ConfigurationException($"invalid group limit [{MaxGroups}]: use 1-{LimitMaxGroups}", "maxgroups");
        }

        if (MaxChannelsPerGroup is < 1 or > LimitMaxChannelsPerGroup)
        {
            throw new ConfigurationException($"invalid channel limit [{MaxChannelsPerGroup}]: use 1-{LimitMaxChannelsPerGroup}", "maxchannels");
        }

        if (Groups.Count > MaxGroups)
        {
            throw new ConfigurationException($"too many groups: {Groups.Count} given, this instance holds {MaxGroups}", null, ExitCodes.Unavailable);
        }

        for (var g = 0; g < Groups.Count; g++)
        {
            var channels = Groups[g].Channels;
            if (channels.Count > MaxChannelsPerGroup)
            {
                throw new ConfigurationException($"too many channels in group {g}: {channels.Count} given, a group holds {MaxChannelsPerGroup}", null, ExitCodes.Usage);
            }

            foreach (var c in channels)
            {
                if (c.Port is < 1 or > 65535)
                {
                    throw new ConfigurationException($"invalid channel [{c.Destination}]: port must be 1-65535", c.Destination, ExitCodes.DataError);
                }

                if (c.MaxConnections < 0)
                {
                    throw new ConfigurationException($"invalid channel [{c.Destination}]: maxc must be 0 (unlimited) or positive", c.Destination, ExitCodes.DataError);
                }
            }
        }
    }

    /// <summary>
    /// Limits sized for this configuration: at least the defaults, and room for what was given
    /// plus growth through <c>create</c>.
    /// </summary>
    public BalanceConfiguration WithLimitsSized() => this with
    {
        MaxGroups = Math.Min(LimitMaxGroups, Math.Max(MaxGroups, Groups.Count)),
        MaxChannelsPerGroup = Math.Min(LimitMaxChannelsPerGroup, Math.Max(MaxChannelsPerGroup, Groups.Count == 0 ? 0 : Groups.Max(g => g.Channels.Count))),
    };
}
