using System.Net;
using System.Net.Sockets;
using Balance.Configuration;

namespace Balance.Proxy;

/// <summary>
/// The listening sockets a takeover receives, shared out over the new engine's workers. Every
/// received socket gets a worker (one may get several), so no socket's queue is left without an
/// accept loop; with SO_REUSEPORT a new engine with more workers binds the extra sockets into the
/// same group, without one all workers take from the one socket, as a fresh start does.
/// </summary>
internal static class TakeoverListeners
{
    /// <summary>
    /// Wraps <paramref name="descriptors"/> (taking ownership of them all, also on failure) and returns
    /// each worker's listeners. A socket that is not a TCP listener on <paramref name="endpoint"/> is refused.
    /// </summary>
    public static Listener[][] Adopt(IReadOnlyList<int> descriptors, IPEndPoint endpoint, int workers, KeepaliveTiming? keepalive)
    {
        var adopted = new List<Listener>();
        var extra = new List<Listener>();
        try
        {
            var gate = Listener.NewGate();
            var pending = new Queue<int>(descriptors);
            while (pending.TryDequeue(out var fd))
            {
                var socket = Wrap(fd);
                try
                {
                    adopted.Add(Listener.Adopt(socket, gate));
                }
                catch
                {
                    // Not adopted: closed as received, and the rest with it.
                    socket.SafeHandle.SetHandleAsInvalid();
                    CloseAll([fd, .. pending]);
                    throw;
                }
            }

            foreach (var listener in adopted)
            {
                Check(listener, endpoint);
            }

            var reusePort = adopted.Count > 0 && adopted[0].ReusesPort;
            if (adopted.Count == 0)
            {
                throw new IOException("the running engine passed no listening socket");
            }

            for (var i = adopted.Count; reusePort && i < workers; i++)
            {
                extra.Add(Listener.Bind(endpoint, gate, keepalive));
            }

            return Share(adopted, extra, workers, reusePort);
        }
        catch
        {
            foreach (var listener in adopted.Concat(extra))
            {
                listener.Dispose();
            }

            throw;
        }
    }

    /// <summary>Closes descriptors that never became listeners (a failure while they were received).</summary>
    public static void CloseAll(IEnumerable<int> descriptors)
    {
        foreach (var fd in descriptors)
        {
            // Shared sockets: close(2) alone, never the runtime's shutdown on close.
            Interop.Libc.Close(fd);
        }
    }

    private static Socket Wrap(int fd) => new(new SafeSocketHandle(fd, ownsHandle: true));

    private static void Check(Listener listener, IPEndPoint endpoint)
    {
        var local = listener.LocalEndPoint;
        if (local.Port != endpoint.Port || !SameAddress(local.Address, endpoint.Address))
        {
            throw new IOException($"the running engine passed a socket bound to {local}, not {endpoint}");
        }
    }

    private static bool SameAddress(IPAddress a, IPAddress b) =>
        a.Equals(b) || (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Equals(b.IsIPv4MappedToIPv6 ? b.MapToIPv4() : b);

    private static Listener[][] Share(List<Listener> adopted, List<Listener> extra, int workers, bool reusePort)
    {
        var result = new List<Listener>[workers];
        for (var w = 0; w < workers; w++)
        {
            result[w] = [];
        }

        if (!reusePort)
        {
            // One socket, as without SO_REUSEPORT at start: every worker's loop accepts from it.
            for (var w = 0; w < workers; w++)
            {
                result[w].Add(w == 0 ? adopted[0] : adopted[0].AnotherLoop());
            }

            for (var i = 1; i < adopted.Count; i++)
            {
                result[i % workers].Add(adopted[i]);
            }
        }
        else
        {
            var all = adopted.Concat(extra).ToList();
            for (var i = 0; i < all.Count; i++)
            {
                result[i % workers].Add(all[i]);
            }
        }

        return result.Select(l => l.ToArray()).ToArray();
    }
}
