using System.Globalization;
using System.Net;
using System.Text;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Metrics;

/// <summary>
/// The optional HTTP endpoint of an instance: <c>/metrics</c> (Prometheus text format) and <c>/</c>
/// (the status page), GET and HEAD only, read from the control segment like every other front end.
/// It runs on threads of its own (never the relay's loop), serves at most
/// <see cref="MaxConcurrentRequests"/> requests at once at a bounded pace, renders a snapshot at
/// most once per <see cref="RenderInterval"/>, and refuses bodies and oversized requests, so a slow
/// or hostile scraper costs the proxy nothing it would notice.
/// </summary>
public sealed class MetricsServer : IDisposable
{
    /// <summary>Requests served at once; more wait in the listener's queue.</summary>
    public const int MaxConcurrentRequests = 4;

    /// <summary>The largest request (request line and headers) answered; larger ones get 431.</summary>
    public const int MaxRequestBytes = 8192;

    /// <summary>How long one rendering is served before the segment is read again.</summary>
    public static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>The least time one worker spends per request: the pace that caps a scrape loop's cost.</summary>
    public static readonly TimeSpan MinimumRequestTime = TimeSpan.FromMilliseconds(20);

    /// <summary>A response not sent by then is aborted (a scraper that stopped reading).</summary>
    public static readonly TimeSpan ResponseBound = TimeSpan.FromSeconds(5);

    private readonly HttpListener listener;
    private readonly RenderCache cache;
    private readonly Thread[] workers;
    private readonly ControlClient? client;

    private MetricsServer(HttpListener listener, Func<BalanceSnapshot> snapshot, IPEndPoint endpoint, ControlClient? client = null)
    {
        this.client = client;
        this.listener = listener;
        Endpoint = endpoint;
        cache = new RenderCache(snapshot, RenderInterval);
        workers = new Thread[MaxConcurrentRequests];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = new Thread(Work) { IsBackground = true, Name = "balance metrics" };
            workers[i].Start();
        }
    }

    /// <summary>Where it listens.</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>
    /// Listens on <paramref name="endpoint"/> and serves the instance <paramref name="instance"/>
    /// names. A bind failure is a <see cref="ConfigurationException"/> with the exit code for
    /// "cannot listen" (71).
    /// </summary>
    public static MetricsServer Start(IPEndPoint endpoint, SegmentName instance)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(instance);
        var listener = Listen(endpoint);
        try
        {
            var client = ControlClient.Open(instance);
            return new MetricsServer(listener, client.Snapshot, endpoint, client);
        }
        catch
        {
            listener.Close();
            throw;
        }
    }

    /// <summary>Stops listening; a request under way gets until <see cref="ResponseBound"/> to finish.</summary>
    public void Dispose()
    {
        listener.Close();
        var deadline = Environment.TickCount64 + (long)ResponseBound.TotalMilliseconds;
        var joined = true;
        foreach (var w in workers)
        {
            joined &= w.Join(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));
        }

        // A worker still inside a snapshot would read an unmapped segment: then it stays mapped.
        if (joined)
        {
            client?.Dispose();
        }
    }

    private static HttpListener Listen(IPEndPoint endpoint)
    {
        var listener = new HttpListener { IgnoreWriteExceptions = true };
        foreach (var prefix in MetricsAddress.Prefixes(endpoint))
        {
            listener.Prefixes.Add(prefix);
        }

        try
        {
            listener.Start();
            return listener;
        }
        catch (HttpListenerException e)
        {
            listener.Close();
            throw new ConfigurationException(
                $"cannot serve metrics on {MetricsAddress.Format(endpoint)}: {e.Message}; choose a free port and an address of this machine",
                MetricsAddress.Format(endpoint),
                ExitCodes.OsError);
        }
    }

    private void Work()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = listener.GetContext();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // closed
            }

            var started = Environment.TickCount64;
            using (var bound = new Timer(static c => ((HttpListenerResponse)c!).Abort(), context.Response, ResponseBound, Timeout.InfiniteTimeSpan))
            {
                try
                {
                    Serve(context);
                }
                catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                    // The scraper went away or was cut off: nothing to answer.
                }
            }

            var rest = MinimumRequestTime.TotalMilliseconds - (Environment.TickCount64 - started);
            if (rest > 0)
            {
                Thread.Sleep((int)rest);
            }
        }
    }

    private void Serve(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var refusal = RequestRules.Check(request.HttpMethod, request.Url?.AbsolutePath, RequestSize(request), request.HasEntityBody);
        if (refusal is { } r)
        {
            if (r.Status == HttpStatusCode.MethodNotAllowed)
            {
                response.AddHeader("Allow", "GET, HEAD");
            }

            Send(context, (int)r.Status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(r.Message + "\n"), closeAfter: true);
            return;
        }

        RenderCache.Page page;
        try
        {
            page = request.Url!.AbsolutePath == "/metrics" ? cache.Metrics() : cache.Status();
        }
        catch (ControlException e)
        {
            Send(context, 503, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(e.Message + "\n"), closeAfter: true);
            return;
        }

        if (page.ContentType == StatusPage.ContentType)
        {
            response.AddHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
        }

        Send(context, 200, page.ContentType, page.Body, closeAfter: false);
    }

    private static void Send(HttpListenerContext context, int status, string contentType, byte[] body, bool closeAfter)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.AddHeader("Cache-Control", "no-store");
        response.AddHeader("X-Content-Type-Options", "nosniff");
        response.ContentLength64 = body.Length;
        response.KeepAlive = !closeAfter;
        if (context.Request.HttpMethod != "HEAD")
        {
            response.OutputStream.Write(body);
        }

        response.Close();
    }

    private static int RequestSize(HttpListenerRequest request)
    {
        var size = request.HttpMethod.Length + (request.RawUrl?.Length ?? 0) + 12;
        foreach (var key in request.Headers.AllKeys)
        {
            size += (key?.Length ?? 0) + 4 + (request.Headers[key]?.Length ?? 0);
        }

        return size;
    }

    /// <summary>Answers what a request asks for, or why it is refused, without touching the segment.</summary>
    internal static class RequestRules
    {
        public static (HttpStatusCode Status, string Message)? Check(string method, string? path, int size, bool hasBody)
        {
            if (size > MaxRequestBytes)
            {
                return (HttpStatusCode.RequestHeaderFieldsTooLarge, string.Create(CultureInfo.InvariantCulture, $"request too large: at most {MaxRequestBytes} bytes of request line and headers"));
            }

            if (method is not ("GET" or "HEAD"))
            {
                return (HttpStatusCode.MethodNotAllowed, "read-only endpoint: only GET and HEAD; change state with balance -c or the cmdlets");
            }

            if (hasBody)
            {
                return (HttpStatusCode.RequestEntityTooLarge, "a GET or HEAD takes no body");
            }

            return path is "/metrics" or "/" ? null : (HttpStatusCode.NotFound, "not found: this endpoint serves /metrics and /");
        }
    }
}
