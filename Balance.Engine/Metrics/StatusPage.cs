using System.Globalization;
using System.Net;
using System.Text;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Metrics;

/// <summary>
/// The read-only status page served at <c>/</c>: every group and channel with its states, live and
/// total connections, bytes and byte rates. Self-contained (inline style and script, no external
/// asset), reloads itself, fits a phone's width. Rates are computed in the browser from the
/// previous load's figures, so the server keeps no per-viewer state.
/// </summary>
internal static class StatusPage
{
    /// <summary>Seconds between reloads.</summary>
    public const int RefreshSeconds = 5;

    public const string ContentType = "text/html; charset=utf-8";

    /// <summary>The page for one instance's snapshot.</summary>
    public static string Render(BalanceSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var i = snapshot.Instance;
        var endpoint = ChannelSpec.FormatDestination(i.BindAddress, i.Port);
        var html = new StringBuilder(4096);
        html.Append(CultureInfo.InvariantCulture, $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="{RefreshSeconds}">
            <title>Balance {E(endpoint)}</title>
            <style>{Style}</style></head>
            <body data-taken="{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}">
            <header><h1>Balance on {E(endpoint)}</h1>
            <p id="instance">{E(PrometheusText.Name(i.State))} · pid {i.ProcessId} · up {E(Uptime(i.Uptime))} · version {E(i.Version)} · workers {i.CounterStripes} · accepted {i.Accepted} · rejected {i.Rejected}</p></header>

            """);
        foreach (var g in snapshot.Groups)
        {
            AppendGroup(html, g, snapshot.Channels.Where(c => c.Group == g.Group));
        }

        if (snapshot.Groups.Count == 0)
        {
            html.Append("<p>No channels.</p>\n");
        }

        html.Append(CultureInfo.InvariantCulture, $"""
            <footer>Read-only; reloads every {RefreshSeconds} s. Change state with <code>balance -c</code> or the Balance cmdlets. <a href="/metrics">/metrics</a></footer>
            <script>{Script}</script>
            </body></html>

            """);
        return html.ToString();
    }

    private static void AppendGroup(StringBuilder html, GroupInfo g, IEnumerable<ChannelInfo> channels)
    {
        html.Append(CultureInfo.InvariantCulture, $"""
            <section class="group" id="group-{g.Group}"><h2>Group {g.Group} <span class="policy">{E(g.Policy)}</span></h2>
            <div class="scroll"><table>
            <thead><tr><th>#</th><th>Destination</th><th>Admin</th><th>Health</th><th>Live</th><th>Max</th><th>Weight</th><th>Total</th><th>Failed</th><th>Sent</th><th>Received</th><th>Sent/s</th><th>Recv/s</th></tr></thead>
            <tbody>

            """);
        foreach (var c in channels)
        {
            var admin = PrometheusText.Name(c.AdminState);
            var health = PrometheusText.Name(c.Health);
            html.Append(CultureInfo.InvariantCulture, $"""
                <tr class="channel{(c.Serving ? string.Empty : " idle")}" id="channel-{c.Group}-{c.Index}" data-key="{c.Id}" data-sent="{c.BytesSent}" data-received="{c.BytesReceived}"><td>{c.Index}</td><td>{E(c.Destination)}</td><td class="admin {admin}">{admin}</td><td class="health {health}">{health}</td><td>{c.Connections}</td><td>{(c.MaxConnections == 0 ? "∞" : c.MaxConnections.ToString(CultureInfo.InvariantCulture))}</td><td>{c.Weight}</td><td>{c.TotalConnections}</td><td>{c.Failures}</td><td>{Bytes(c.BytesSent)}</td><td>{Bytes(c.BytesReceived)}</td><td class="rate sent">–</td><td class="rate received">–</td></tr>

                """);
        }

        html.Append("</tbody></table></div></section>\n");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Uptime(TimeSpan t) =>
        t.TotalDays >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalDays}d {t.Hours}h {t.Minutes}m")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Hours}h {t.Minutes}m {t.Seconds}s");

    /// <summary>Bytes in binary units, as a person reads them.</summary>
    internal static string Bytes(double value)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        var u = 0;
        while (value >= 1024 && u < units.Length - 1)
        {
            value /= 1024;
            u++;
        }

        return u == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{value:0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[u]}");
    }

    private const string Style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#222;background:#fafafa}
        h1{font-size:1.2em;margin:0 0 4px}h2{font-size:1.05em;margin:16px 0 6px}
        .policy{font-weight:normal;color:#555}.scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;background:#fff}
        th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
        th:nth-child(-n+4),td:nth-child(-n+4){text-align:left}
        .admin.enabled,.health.up{color:#176f2c}.admin.disabled,.health.down{color:#b3261e;font-weight:600}
        .admin.draining{color:#8a5a00}.health.unknown{color:#666}tr.idle{background:#fff4f2}
        footer{margin-top:16px;color:#666;font-size:.9em}
        @media (max-width:600px){body{padding:6px;font-size:13px}th,td{padding:3px 5px}}
        """;

    // Rates: this load's byte counts against the previous load's (kept in sessionStorage per channel id).
    private const string Script = """
        (function(){var now=+document.body.dataset.taken,s=window.sessionStorage;
        function fmt(v){var u=['B/s','KiB/s','MiB/s','GiB/s'],i=0;while(v>=1024&&i<3){v/=1024;i++}return (i?v.toFixed(1):v.toFixed(0))+' '+u[i]}
        document.querySelectorAll('tr.channel').forEach(function(r){var k='balance-'+location.host+'-'+r.dataset.key,
        cur={t:now,s:+r.dataset.sent,r:+r.dataset.received},prev=null;try{prev=JSON.parse(s.getItem(k))}catch(e){}
        if(prev&&cur.t>prev.t&&cur.s>=prev.s&&cur.r>=prev.r){var dt=(cur.t-prev.t)/1000;
        r.querySelector('.rate.sent').textContent=fmt((cur.s-prev.s)/dt);r.querySelector('.rate.received').textContent=fmt((cur.r-prev.r)/dt)}
        try{s.setItem(k,JSON.stringify(cur))}catch(e){}});})();
        """;
}
