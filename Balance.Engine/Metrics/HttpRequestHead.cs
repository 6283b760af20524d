using System.Text;

namespace Balance.Metrics;

/// <summary>
/// The part of an HTTP/1.x request the endpoint needs: method, path, Host, whether a body was
/// announced and whether the client keeps the connection. Parsed from the request line and
/// headers only (at most <see cref="MetricsServer.MaxRequestBytes"/>); the endpoint answers GET and
/// HEAD without a body, so nothing else of HTTP is read.
/// </summary>
internal sealed record HttpRequestHead(string Method, string Path, string? Host, bool HasBody, bool KeepAlive)
{
    /// <summary>The end of the head ("\r\n\r\n") in <paramref name="buffer"/>, or -1.</summary>
    public static int FindEnd(ReadOnlySpan<byte> buffer)
    {
        var at = buffer.IndexOf("\r\n\r\n"u8);
        return at < 0 ? -1 : at + 4;
    }

    /// <summary>Parses a complete head; null when it is not HTTP/1.x.</summary>
    public static HttpRequestHead? Parse(ReadOnlySpan<byte> head)
    {
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        var start = lines[0].Split(' ');
        if (start.Length != 3 || !start[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || start[0].Length == 0)
        {
            return null;
        }

        string? host = null;
        var hasBody = false;
        var keepAlive = start[2] == "HTTP/1.1";
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                host = value;
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                hasBody |= value != "0";
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                hasBody = true;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                keepAlive = value.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
                    || (keepAlive && !value.Equals("close", StringComparison.OrdinalIgnoreCase));
            }
        }

        var target = start[1];
        var query = target.IndexOf('?', StringComparison.Ordinal);
        return new HttpRequestHead(start[0], query < 0 ? target : target[..query], host, hasBody, keepAlive);
    }
}
