using System.Globalization;
using System.Net.Sockets;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// The new engine's side of a takeover (see <see cref="TakeoverServer"/> for the steps). Opening it
/// takes the instance's control lock (byte 1 of the owner file), so no structural change slips in
/// until it is disposed, maps the running engine's segment to copy its layout from, checks that the
/// socket's other end is that engine (its pid, this user or root), and receives the owner lock and
/// the listening sockets. Every failure is one <see cref="ConfigurationException"/> line saying the
/// running instance keeps serving.
/// </summary>
internal sealed class TakeoverClient : IDisposable
{
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(10);
    private readonly SegmentName name;
    private readonly FileLock controlLock;
    private readonly List<int> received = [];
    private TakeoverChannel? channel;
    private int ownerDescriptor = -1;

    private TakeoverClient(SegmentName name, FileLock controlLock, ControlSegment old)
    {
        this.name = name;
        this.controlLock = controlLock;
        Old = old;
        OldPid = old.Header.OwnerPid;
    }

    /// <summary>The running engine's segment, mapped read-write as any control client maps it.</summary>
    public ControlSegment Old { get; }

    /// <summary>The running engine's pid.</summary>
    public int OldPid { get; }

    /// <summary>The running engine's distinct listening sockets, received; the caller takes them (<see cref="TakeListeners"/>).</summary>
    public IReadOnlyList<int> Listeners => received;

    public static TakeoverClient Open(SegmentName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var endpoint = ControlSegment.Endpoint(name);
        FileLock? controlLock;
        try
        {
            controlLock = FileLock.AcquireControl(name.OwnerLockPath, LockWait);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigurationException($"no Balance instance is running on {endpoint}: nothing to take over; start one without --takeover", endpoint, ExitCodes.Unavailable);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ConfigurationException($"cannot take over {endpoint}: {e.Message}", name.OwnerLockPath, ExitCodes.NoPermission);
        }

        if (controlLock is null)
        {
            throw Failed(endpoint, "taking the control lock", string.Create(CultureInfo.InvariantCulture, $"a control client held it for {LockWait.TotalSeconds:0} s"), ExitCodes.Unavailable);
        }

        ControlSegment? old = null;
        try
        {
            old = ControlSegment.Open(name);
            var client = new TakeoverClient(name, controlLock, old);
            if (old.State != EngineState.Running)
            {
                throw Failed(endpoint, "reading the running instance", $"its state is {old.State.ToString().ToLowerInvariant()}, not running", ExitCodes.Unavailable);
            }

            client.Connect();
            return client;
        }
        catch
        {
            old?.Dispose();
            controlLock.Dispose();
            throw;
        }
    }

    /// <summary>Takes the owner-lock descriptor (the caller closes it from here on).</summary>
    public int TakeOwnerDescriptor()
    {
        var fd = ownerDescriptor;
        ownerDescriptor = -1;
        return fd;
    }

    /// <summary>Takes the listening sockets (the caller closes them from here on).</summary>
    public int[] TakeListeners()
    {
        var all = received.ToArray();
        received.Clear();
        return all;
    }

    /// <summary>The new engine accepts: asks the running one to let it take the name.</summary>
    public void Ready() => Step("asking for the name", () =>
    {
        channel!.Send("ready");
        channel.Expect("commit");
    });

    /// <summary>The name is taken: the running engine stops accepting. False when it did not confirm (it stops anyway on its own timeout).</summary>
    public bool Accepting()
    {
        try
        {
            channel!.Send(string.Create(CultureInfo.InvariantCulture, $"accepting {Environment.ProcessId}"));
            channel.Expect("released");
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return false;
        }
    }

    /// <summary>A failure at <paramref name="step"/> as the one line the command line prints.</summary>
    public ConfigurationException Failed(string step, Exception e) =>
        Failed(ControlSegment.Endpoint(name), step, e.Message, ExitCodes.OsError, OldPid);

    private static ConfigurationException Failed(string endpoint, string step, string why, int exitCode, int pid = 0)
    {
        var who = pid > 0 ? string.Create(CultureInfo.InvariantCulture, $" (pid {pid})") : string.Empty;
        return new ConfigurationException($"takeover of {endpoint} failed {step}: {why}; the running instance{who} keeps serving", endpoint, exitCode);
    }

    private void Connect()
    {
        Step("reaching the running instance", () =>
        {
            var socket = TakeoverChannel.NewSocket();
            try
            {
                socket.Connect(TakeoverChannel.EndPointOf(name));
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            channel = new TakeoverChannel(socket);
            var (pid, uid) = channel.Peer();
            if (pid != OldPid || !TakeoverChannel.Trusted(uid))
            {
                throw new IOException(string.Create(CultureInfo.InvariantCulture, $"the socket @{TakeoverChannel.RendezvousName(name)} is held by process {pid} (user id {uid}), not by the instance's pid {OldPid}: someone else took its name"));
            }

            channel.Send("take 1");
            var count = int.Parse(channel.Expect("grant", received)[0], CultureInfo.InvariantCulture);
            if (received.Count != 1)
            {
                throw new IOException("the grant did not carry the owner lock");
            }

            ownerDescriptor = received[0];
            received.Clear();
            while (received.Count < count)
            {
                channel.Expect("sockets", received);
            }
        });
    }

    private void Step(string step, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or SocketException or FormatException or IndexOutOfRangeException)
        {
            throw Failed(step, e);
        }
    }

    public void Dispose()
    {
        channel?.Dispose();
        TakeoverListeners.CloseAll(received);
        received.Clear();
        if (ownerDescriptor >= 0)
        {
            Interop.Libc.Close(ownerDescriptor);
        }

        Old.Dispose();
        controlLock.Dispose();
    }
}
