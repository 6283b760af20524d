using System.Net;
using System.Net.Sockets;
using Balance.Control;

namespace Balance.Health;

/// <summary>
/// One active check: a TCP connect within the timeout, then optionally a string sent and a reply
/// read until it contains the expected text (HAProxy's <c>tcp-check send</c>/<c>expect</c>). It
/// runs on the runtime's socket engine, never on a worker's relay loop, so a slow or black-holed
/// back-end costs its own timeout and delays no client and no other check. The socket is closed
/// with a FIN, so the back-end sees an orderly end.
/// </summary>
internal sealed class HealthProbe
{
    /// <summary>Bytes of reply searched for the expected text.</summary>
    public const int ReplyLimit = 4096;

    private readonly byte[]? send;
    private readonly byte[]? expect;
    private readonly IPEndPoint? source4;
    private readonly IPEndPoint? source6;

    /// <param name="send">Sent once connected; null = nothing.</param>
    /// <param name="expect">Must appear in the reply; null = the connect is enough.</param>
    /// <param name="source4">Local IPv4 address to connect from (<c>-B</c>); null = any.</param>
    /// <param name="source6">Local IPv6 address to connect from; null = any.</param>
    public HealthProbe(byte[]? send, byte[]? expect, IPEndPoint? source4 = null, IPEndPoint? source6 = null)
    {
        this.send = send;
        this.expect = expect;
        this.source4 = source4;
        this.source6 = source6;
    }

    /// <summary>Checks <paramref name="endpoint"/> once; never throws for the network.</summary>
    public async Task<CheckResult> RunAsync(IPEndPoint endpoint, TimeSpan timeout, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        deadline.CancelAfter(timeout);
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if ((endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? source6 : source4) is { } local)
            {
                socket.Bind(local);
            }

            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
            if (send is not null)
            {
                await socket.SendAsync(send, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            }

            var result = expect is null ? CheckResult.Passed : await ReadReplyAsync(socket, expect, deadline.Token).ConfigureAwait(false);
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // The back-end closed first: the verdict is made already.
            }

            return result;
        }
        catch (OperationCanceledException)
        {
            return CheckResult.TimedOut;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => CheckResult.Refused,
                SocketError.TimedOut => CheckResult.TimedOut,
                _ => CheckResult.Error,
            };
        }
    }

    private static async Task<CheckResult> ReadReplyAsync(Socket socket, byte[] expect, CancellationToken token)
    {
        var buffer = new byte[ReplyLimit];
        var filled = 0;
        try
        {
            while (filled < buffer.Length)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                filled += n;
                if (buffer.AsSpan(0, filled).IndexOf(expect) >= 0)
                {
                    return CheckResult.Passed;
                }
            }
        }
        catch (OperationCanceledException) when (filled > 0)
        {
            // It answered, only not what was expected: that says more than "timed out".
        }

        return CheckResult.UnexpectedReply;
    }
}
