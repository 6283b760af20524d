using System.Globalization;
using System.Net.Sockets;
using Balance.Control;
using Balance.Interop;

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
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(200);
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
        try
        {
            new Thread(server.Serve) { IsBackground = true, Name = "balance takeover" }.Start();
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // CoreCLR needs a descriptor to start a thread: out of them, serve on and try later.
            socket.Dispose();
            retryLater = true;
            report("takeover not available yet: no thread for its socket; tried again while the engine runs");
            return null;
        }

        return server;
    }

    /// <summary>
    /// Waits for a peer and converses on a thread of its own: a takeover's steps must keep their
    /// timing when the pool is starved by a loaded host. The wait is the bare accept call, which
    /// needs nothing loaded: the runtime's socket telemetry loads an assembly on a signal's EINTR,
    /// which fails when no descriptor is free.
    /// </summary>
    private void Serve()
    {
        while (Volatile.Read(ref disposed) == 0)
        {
            var fd = AcceptPeer();
            if (fd < 0)
            {
                continue;
            }

            using var channel = new TakeoverChannel(new Socket(new SafeSocketHandle(fd, ownsHandle: true)));
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

    /// <summary>The peer's descriptor, or -1 after a signal, a shortage (waited out) or the end.</summary>
    private unsafe int AcceptPeer()
    {
        int fd;
        try
        {
            fd = Libc.Accept(listening.SafeHandle, null, null, Libc.CloseOnExec);
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }

        if (fd < 0 && Errors.Of(fd) is not Errno.EINTR && Volatile.Read(ref disposed) == 0)
        {
            // EMFILE and kin: the wait goes on, without spinning, until a descriptor is free.
            Thread.Sleep(AcceptRetryDelay);
        }

        return fd;
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
        for (var i = 0; i < listeners.Length; i += Libc.MaxDescriptorsPerMessage)
        {
            var chunk = listeners.AsSpan(i, Math.Min(Libc.MaxDescriptorsPerMessage, listeners.Length - i));
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
