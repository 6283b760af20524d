using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Metrics;

/// <summary>
/// The optional HTTP endpoint of an instance: <c>/metrics</c> (Prometheus text format) and <c>/</c>
/// (the status page), GET and HEAD only, read from the control segment like every other front end.
/// Its own accept thread and asynchronous connections, never the relay's loop; at most
/// <see cref="MaxConnections"/> connections, each request head complete within
/// <see cref="RequestTimeout"/> and at most <see cref="MaxRequestBytes"/>; at most
/// <see cref="MaxConcurrentRequests"/> requests served at once at a bounded pace; one rendering per
/// <see cref="RenderInterval"/>. So a slow or hostile scraper costs the proxy nothing it would notice.
/// </summary>
internal sealed class MetricsServer : IDisposable
{
    /// <summary>Requests served at once; others wait for a slot (within <see cref="RequestTimeout"/>).</summary>
    public const int MaxConcurrentRequests = 4;

    /// <summary>Open connections; one more is answered 503 and closed.</summary>
    public const int MaxConnections = 64;

    /// <summary>The largest request head (request line and headers) answered; larger ones get 431.</summary>
    public const int MaxRequestBytes = 8192;

    /// <summary>How long one rendering is served before the segment is read again.</summary>
    public static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>The least time a request holds its slot: the pace that caps a scrape loop's cost.</summary>
    public static readonly TimeSpan MinimumRequestTime = TimeSpan.FromMilliseconds(20);

    /// <summary>A request head (or the next one on a kept connection) must arrive within this; then the connection is closed.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A response not sent by then is abandoned and its connection closed (a scraper that stopped reading).</summary>
    public static readonly TimeSpan ResponseBound = TimeSpan.FromSeconds(5);

    private readonly Socket listener;
    private readonly RenderCache cache;
    private readonly HashSet<string> hosts;
    private readonly ControlClient client;
    private readonly SemaphoreSlim slots = new(MaxConcurrentRequests, MaxConcurrentRequests);
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread acceptor;
    private int connections;

    private MetricsServer(Socket listener, ControlClient client, IPEndPoint endpoint)
    {
        this.listener = listener;
        this.client = client;
        Endpoint = endpoint;
        cache = new RenderCache(client.Snapshot, RenderInterval);
        hosts = MetricsAddress.Hosts(endpoint);
        acceptor = new Thread(Accept) { IsBackground = true, Name = "balance metrics" };
        acceptor.Start();
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
            return new MetricsServer(listener, ControlClient.Open(instance), endpoint);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Stops listening and closes every connection; a response under way gets until <see cref="ResponseBound"/>.</summary>
    public void Dispose()
    {
        stopping.Cancel();
        listener.Dispose();
        acceptor.Join(ResponseBound);
        var deadline = Environment.TickCount64 + (long)ResponseBound.TotalMilliseconds;
        while (Volatile.Read(ref connections) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(10);
        }

        // A connection still inside a snapshot would read an unmapped segment: then it stays mapped.
        if (Volatile.Read(ref connections) == 0)
        {
            client.Dispose();
        }
    }

    private static Socket Listen(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endpoint);
            socket.Listen(MaxConnections);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ConfigurationException(
                $"cannot serve metrics on {MetricsAddress.Format(endpoint)}: {e.Message}; choose a free port and an address of this machine",
                MetricsAddress.Format(endpoint),
                ExitCodes.OsError);
        }
    }

    private void Accept()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }

                Thread.Sleep(50); // out of descriptors, say: try again a little later
                continue;
            }

            if (Interlocked.Increment(ref connections) > MaxConnections)
            {
                Refuse(connection);
                continue;
            }

            _ = ServeAsync(connection);
        }
    }

    private void Refuse(Socket connection)
    {
        try
        {
            connection.Blocking = false;
            connection.Send(Response(503, "text/plain; charset=utf-8", "too many connections to the metrics endpoint; try again later\n"u8.ToArray(), false, []), SocketFlags.None, out _);
        }
        finally
        {
            connection.Dispose();
            Interlocked.Decrement(ref connections);
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        var buffer = new byte[MaxRequestBytes];
        var filled = 0;
        try
        {
            while (true)
            {
                var head = await ReadHeadAsync(connection, buffer, filled);
                if (head is not { } h)
                {
                    return;
                }

                var keep = await AnswerAsync(connection, buffer.AsSpan(0, h.End).ToArray());
                filled = h.Filled - h.End;
                Buffer.BlockCopy(buffer, h.End, buffer, 0, filled);
                if (!keep)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // The scraper went away, was too slow, or the endpoint stopped: nothing to answer.
        }
        finally
        {
            connection.Dispose();
            Interlocked.Decrement(ref connections);
        }
    }

    /// <summary>Reads until a whole head is in the buffer; null when the peer closed. Too large: answered 431 here.</summary>
    private async Task<(int End, int Filled)?> ReadHeadAsync(Socket connection, byte[] buffer, int filled)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        timeout.CancelAfter(RequestTimeout);
        while (true)
        {
            var end = HttpRequestHead.FindEnd(buffer.AsSpan(0, filled));
            if (end > 0)
            {
                return (end, filled);
            }

            if (filled == buffer.Length)
            {
                var message = string.Create(CultureInfo.InvariantCulture, $"request too large: at most {MaxRequestBytes} bytes of request line and headers\n");
                await SendAsync(connection, Response(431, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(message), false, []));
                return null;
            }

            var n = await connection.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                return null;
            }

            filled += n;
        }
    }

    /// <summary>Answers one request; true when the connection stays open for another.</summary>
    private async Task<bool> AnswerAsync(Socket connection, byte[] headBytes)
    {
        var head = HttpRequestHead.Parse(headBytes);
        var refusal = RequestRules.Check(head, hosts);
        if (refusal is { } r)
        {
            string[] extra = r.Status == 405 ? ["Allow: GET, HEAD"] : [];
            await SendAsync(connection, Response(r.Status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(r.Message + "\n"), false, extra, head?.Method == "HEAD"));
            return false;
        }

        var request = head!;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        wait.CancelAfter(RequestTimeout);
        await slots.WaitAsync(wait.Token);
        var started = Environment.TickCount64;
        try
        {
            byte[] response;
            try
            {
                var page = request.Path == "/metrics" ? cache.Metrics() : cache.Status();
                string[] extra = page.ContentType == StatusPage.ContentType
                    ? ["Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"]
                    : [];
                response = Response(200, page.ContentType, page.Body, request.KeepAlive, extra, request.Method == "HEAD");
            }
            catch (ControlException e)
            {
                await SendAsync(connection, Response(503, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(e.Message + "\n"), false, [], request.Method == "HEAD"));
                return false;
            }

            await SendAsync(connection, response);
            var rest = MinimumRequestTime.TotalMilliseconds - (Environment.TickCount64 - started);
            if (rest > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(rest), stopping.Token);
            }

            return request.KeepAlive;
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task SendAsync(Socket connection, byte[] response)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        bound.CancelAfter(ResponseBound);
        var sent = 0;
        while (sent < response.Length)
        {
            sent += await connection.SendAsync(response.AsMemory(sent), SocketFlags.None, bound.Token);
        }
    }

    private static byte[] Response(int status, string contentType, byte[] body, bool keepAlive, string[] extraHeaders, bool headOnly = false)
    {
        var head = new StringBuilder(256);
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {Reason(status)}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\nContent-Length: {body.Length}\r\n");
        head.Append("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
        foreach (var h in extraHeaders)
        {
            head.Append(h).Append("\r\n");
        }

        head.Append(keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
        var bytes = Encoding.ASCII.GetBytes(head.ToString());
        return headOnly ? bytes : [.. bytes, .. body];
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };

    /// <summary>What a request may ask for, and why one is refused, without touching the segment.</summary>
    internal static class RequestRules
    {
        public static (int Status, string Message)? Check(HttpRequestHead? head, IReadOnlySet<string> hosts)
        {
            if (head is null)
            {
                return (400, "not an HTTP/1.x request");
            }

            if (head.Method is not ("GET" or "HEAD"))
            {
                return (405, "read-only endpoint: only GET and HEAD; change state with balance -c or the cmdlets");
            }

            if (head.HasBody)
            {
                return (413, "a GET or HEAD takes no body");
            }

            if (hosts.Count > 0 && (head.Host is null || !hosts.Contains(head.Host.ToLowerInvariant())))
            {
                return (400, "unknown host: ask for this endpoint by its address (or localhost on loopback)");
            }

            return head.Path is "/metrics" or "/" ? null : (404, "not found: this endpoint serves /metrics and /");
        }
    }
}
