using System.Globalization;
using System.Net.Sockets;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>What a running engine lends its takeover server: what it hands over and the steps it takes.</summary>
internal interface IHandover
{
    /// <summary>Why the engine cannot be taken over now (stopping); null when it can.</summary>
    string? RefusalReason { get; }

    /// <summary>The descriptor holding the owner lock.</summary>
    int OwnerDescriptor { get; }

    /// <summary>Every distinct listening socket, marked shared from here on.</summary>
    int[] ShareListeners();

    /// <summary>The new engine (pid) is about to take the name: the old one stops repairing it.</summary>
    void Committing(int pid);

    /// <summary>The new engine (pid) accepts and owns the name: stop accepting, then drain and stop.</summary>
    void HandOver(int pid);

    /// <summary>A takeover failed at <paramref name="step"/>: keep serving, the name taken back when it was lost.</summary>
    void Resume(string step, string why);
}

/// <summary>
/// The running engine's side of a takeover (see <see cref="TakeoverChannel"/>): waits on the
/// abstract socket and answers one engine at a time. Steps: take, grant (owner
/// lock and listening sockets), ready, commit, accepting, released. Until "accepting" the running
/// engine has changed nothing it cannot undo, and any failure leaves it serving.
/// </summary>
internal sealed class TakeoverServer : IDisposable
{
    private readonly Socket listening;
    private readonly IHandover engine;
    private readonly Action<string> report;
    private int disposed;

    private TakeoverServer(Socket listening, IHandover engine, Action<string> report)
    {
        this.listening = listening;
        this.engine = engine;
        this.report = report;
    }

    /// <summary>
    /// Listens for takeovers of <paramref name="name"/>; null (reported) when the socket's name is
    /// taken or the platform lacks it, and null with <paramref name="retryLater"/> set when no
    /// descriptor was free for the socket (an engine out of descriptors serves on and tries again).
    /// </summary>
    public static TakeoverServer? Start(SegmentName name, IHandover engine, Action<string> report, out bool retryLater)
    {
        retryLater = false;
        if (!TakeoverChannel.IsSupported)
        {
            return null;
        }

        Socket socket;
        try
        {
            socket = TakeoverChannel.NewSocket();
        }
        catch (SocketException e)
        {
            retryLater = true;
            report($"takeover not available yet: no descriptor for its socket ({e.Message}); tried again while the engine runs");
            return null;
        }

        try
        {
            socket.Bind(TakeoverChannel.EndPointOf(name));
            socket.Listen(1);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            report($"takeover unavailable: the socket @{TakeoverChannel.RendezvousName(name)} cannot be bound ({e.Message}); this instance can only be stopped and started");
            return null;
        }

        var server = new TakeoverServer(socket, engine, report);
        _ = server.ServeAsync();
        return server;
    }

    /// <summary>
    /// Waits for a peer without a thread of its own (an engine out of descriptors must not need one),
    /// then converses on the pool: takeovers are rare, and each step is bounded by its timeout.
    /// </summary>
    private async Task ServeAsync()
    {
        while (Volatile.Read(ref disposed) == 0)
        {
            Socket peer;
            try
            {
                peer = await listening.AcceptAsync().ConfigureAwait(false);
                peer.Blocking = true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            using var channel = new TakeoverChannel(peer);
            try
            {
                Converse(channel);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // This thread must outlive any one conversation (an exception here would end the
                // process): an engine that stopped meanwhile, a peer that sent nonsense.
                report("takeover refused: " + e.Message);
            }
        }
    }

    private void Converse(TakeoverChannel channel)
    {
        var (pid, uid) = channel.Peer();
        if (!TakeoverChannel.Trusted(uid))
        {
            channel.Send("refused user id " + uid.ToString(CultureInfo.InvariantCulture) + " may not take over this instance: run as its user or root");
            throw new IOException(string.Create(CultureInfo.InvariantCulture, $"process {pid} of user id {uid} is neither this user nor root"));
        }

        var words = channel.Expect("take");
        if (words.Length < 1 || words[0] != "1")
        {
            channel.Send("refused the running engine speaks takeover protocol 1; use a Balance version that does");
            throw new IOException($"process {pid} speaks another takeover protocol");
        }

        if (engine.RefusalReason is { } reason)
        {
            channel.Send("refused " + reason);
            throw new IOException($"process {pid} asked while {reason}");
        }

        var listeners = engine.ShareListeners();
        channel.Send(string.Create(CultureInfo.InvariantCulture, $"grant {listeners.Length}"), [engine.OwnerDescriptor]);
        for (var i = 0; i < listeners.Length; i += Interop.Libc.MaxDescriptorsPerMessage)
        {
            var chunk = listeners.AsSpan(i, Math.Min(Interop.Libc.MaxDescriptorsPerMessage, listeners.Length - i));
            channel.Send(string.Create(CultureInfo.InvariantCulture, $"sockets {chunk.Length}"), chunk);
        }

        var step = "waiting for the new engine to accept";
        try
        {
            channel.Expect("ready");
            engine.Committing(pid);
            step = "waiting for the new engine to take the name";
            channel.Send("commit");
            channel.Expect("accepting");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            engine.Resume(step, e.Message);
            throw new IOException($"process {pid} gave up {step}: {e.Message}; still serving", e);
        }

        engine.HandOver(pid);
        try
        {
            channel.Send("released");
        }
        catch (IOException)
        {
            // The new engine serves already; it only waits for this to start its metrics.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            listening.Dispose();
        }
    }
}
