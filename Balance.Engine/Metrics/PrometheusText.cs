using System.Globalization;
using Balance.Control;
using Prometheus;

namespace Balance.Metrics;

/// <summary>
/// Writes instance snapshots in the Prometheus text exposition format. Each call fills a fresh
/// prometheus-net registry, so the output is exactly the snapshots' figures (a <c>reset</c> or an
/// <c>assign</c> shows at once) and the library does the naming checks, escaping and number format.
/// </summary>
internal static class PrometheusText
{
    /// <summary>The media type of the text format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly string[] ChannelLabels = ["endpoint", "group", "channel", "destination"];
    private static readonly string[] StateLabels = [.. ChannelLabels, "state"];
    private static readonly string[] InstanceLabels = ["endpoint"];

    /// <summary>Writes every snapshot's instance, groups and channels to <paramref name="output"/>.</summary>
    public static async Task WriteAsync(Stream output, IEnumerable<BalanceSnapshot> snapshots, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(snapshots);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var family = new Families(Prometheus.Metrics.WithCustomRegistry(registry));
        foreach (var snapshot in snapshots)
        {
            family.Add(snapshot);
        }

        await registry.CollectAndExportAsTextAsync(output, cancellation).ConfigureAwait(false);
    }

    /// <summary>The text as a string (the textfile export and tests).</summary>
    public static string Render(IEnumerable<BalanceSnapshot> snapshots)
    {
        using var buffer = new MemoryStream();
        WriteAsync(buffer, snapshots).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The metric families of one exposition; see docs/monitoring.md for the list.</summary>
    private sealed class Families(IMetricFactory f)
    {
        private readonly Gauge info = f.CreateGauge("balance_build_info", "Balance build that runs the instance (value 1).", [.. InstanceLabels, "version", "compatible"]);
        private readonly Gauge state = f.CreateGauge("balance_instance_state", "Engine state of the instance: 1 for the current state.", [.. InstanceLabels, "state"]);
        private readonly Gauge startTime = f.CreateGauge("balance_start_time_seconds", "When the instance started, in seconds since the Unix epoch.", InstanceLabels);
        private readonly Gauge uptime = f.CreateGauge("balance_uptime_seconds", "How long the instance has run.", InstanceLabels);
        private readonly Gauge workers = f.CreateGauge("balance_workers", "Worker counter stripes of the instance (one per worker).", InstanceLabels);
        private readonly Counter accepted = f.CreateCounter("balance_accepted_connections_total", "Client connections accepted.", InstanceLabels);
        private readonly Counter rejected = f.CreateCounter("balance_rejected_connections_total", "Client connections closed because no channel could serve them.", InstanceLabels);
        private readonly Gauge groupInfo = f.CreateGauge("balance_group_info", "A group's policy (value 1).", [.. InstanceLabels, "group", "policy"]);
        private readonly Gauge live = f.CreateGauge("balance_channel_connections", "Live sessions of the channel (and connects in progress).", ChannelLabels);
        private readonly Counter total = f.CreateCounter("balance_channel_connections_total", "Sessions whose back-end connect succeeded.", ChannelLabels);
        private readonly Counter failures = f.CreateCounter("balance_channel_connect_failures_total", "Failed back-end connect attempts.", ChannelLabels);
        private readonly Counter sent = f.CreateCounter("balance_channel_sent_bytes_total", "Bytes relayed to the back-end.", ChannelLabels);
        private readonly Counter received = f.CreateCounter("balance_channel_received_bytes_total", "Bytes relayed from the back-end.", ChannelLabels);
        private readonly Gauge admin = f.CreateGauge("balance_channel_admin_state", "Admin state of the channel: 1 for the current state.", StateLabels);
        private readonly Gauge health = f.CreateGauge("balance_channel_health_state", "Health of the channel's back-end: 1 for the current state.", StateLabels);
        private readonly Gauge serving = f.CreateGauge("balance_channel_serving", "1 when the channel may get new sessions (enabled, not down, weight above 0).", ChannelLabels);
        private readonly Gauge weight = f.CreateGauge("balance_channel_weight", "Relative share of the channel for weighted policies.", ChannelLabels);
        private readonly Gauge maxc = f.CreateGauge("balance_channel_max_connections", "Session limit of the channel; 0 is unlimited.", ChannelLabels);

        public void Add(BalanceSnapshot snapshot)
        {
            var i = snapshot.Instance;
            var endpoint = Configuration.ChannelSpec.FormatDestination(i.BindAddress, i.Port);
            info.WithLabels(endpoint, i.Version, ProductInfo.CompatibleRelease).Set(1);
            foreach (var s in Enum.GetValues<EngineState>())
            {
                state.WithLabels(endpoint, Name(s)).Set(s == i.State ? 1 : 0);
            }

            startTime.WithLabels(endpoint).Set(i.StartTime.ToUnixTimeMilliseconds() / 1000.0);
            uptime.WithLabels(endpoint).Set(i.Uptime.TotalSeconds);
            workers.WithLabels(endpoint).Set(i.CounterStripes);
            accepted.WithLabels(endpoint).Inc(i.Accepted);
            rejected.WithLabels(endpoint).Inc(i.Rejected);
            foreach (var g in snapshot.Groups)
            {
                groupInfo.WithLabels(endpoint, Number(g.Group), g.Policy).Set(1);
            }

            foreach (var c in snapshot.Channels)
            {
                AddChannel(endpoint, c);
            }
        }

        private void AddChannel(string endpoint, ChannelInfo c)
        {
            string[] labels = [endpoint, Number(c.Group), Number(c.Index), c.Destination];
            live.WithLabels(labels).Set(c.Connections);
            total.WithLabels(labels).Inc(c.TotalConnections);
            failures.WithLabels(labels).Inc(c.Failures);
            sent.WithLabels(labels).Inc(c.BytesSent);
            received.WithLabels(labels).Inc(c.BytesReceived);
            foreach (var s in Enum.GetValues<ChannelAdminState>())
            {
                admin.WithLabels([.. labels, Name(s)]).Set(s == c.AdminState ? 1 : 0);
            }

            foreach (var h in Enum.GetValues<ChannelHealth>())
            {
                health.WithLabels([.. labels, Name(h)]).Set(h == c.Health ? 1 : 0);
            }

            serving.WithLabels(labels).Set(c.Serving ? 1 : 0);
            weight.WithLabels(labels).Set(c.Weight);
            maxc.WithLabels(labels).Set(c.MaxConnections);
        }

        private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Label values are lower case, as Prometheus users write them in queries.</summary>
    internal static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
