using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Balance.Control;
using Balance.Interop;

namespace Balance.Proxy;

/// <summary>
/// The conversation between a running engine and the one taking it over: short text messages on a
/// Linux abstract-namespace SOCK_SEQPACKET socket (one message per send, no name in the segment
/// directory anyone could plant), some carrying descriptors (SCM_RIGHTS). The socket's name is
/// derived from the segment's path; each side checks the other's kernel-reported credentials
/// (see docs/security.md, "Takeover").
/// </summary>
internal sealed class TakeoverChannel : IDisposable
{
    /// <summary>How long either side waits for the other's next message before giving up.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    private const int MaxMessage = 512;
    private readonly Socket socket;

    public TakeoverChannel(Socket socket)
    {
        this.socket = socket;
        socket.ReceiveTimeout = (int)StepTimeout.TotalMilliseconds;
        socket.SendTimeout = (int)StepTimeout.TotalMilliseconds;
    }

    /// <summary>True where a takeover can work: Linux with the checked segment files (sealed memory, byte locks).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && SegmentLocator.IsAvailable;

    /// <summary>The abstract socket name of the instance <paramref name="name"/> (no leading NUL; ss -xl shows it with '@').</summary>
    public static string RendezvousName(SegmentName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // FNV-1a: a name, not a secret (the peer checks are the security); no crypto library to load.
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(name.Path))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return "balance-takeover-" + hash.ToString("x16", CultureInfo.InvariantCulture);
    }

    public static UnixDomainSocketEndPoint EndPointOf(SegmentName name) => new("\0" + RendezvousName(name));

    public static Socket NewSocket() => new(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);

    /// <summary>The peer's pid and user id; throws <see cref="IOException"/> when the kernel cannot tell.</summary>
    public (int Pid, uint Uid) Peer()
    {
        if (Libc.GetPeerCredentials(socket.SafeHandle, out var credentials) is var failed and < 0)
        {
            throw new IOException("cannot read the peer's credentials: " + Errors.Of(failed).Describe());
        }

        return (credentials.Pid, credentials.Uid);
    }

    /// <summary>True when <paramref name="uid"/> is this process's effective user or root.</summary>
    public static bool Trusted(uint uid) => uid == 0 || uid == Libc.GetEffectiveUserId();

    /// <summary>Sends one message, with descriptors when given (at most <see cref="Libc.MaxDescriptorsPerMessage"/>).</summary>
    public void Send(string text, ReadOnlySpan<int> descriptors = default)
    {
        var data = Encoding.UTF8.GetBytes(text);
        if (Libc.SendWithDescriptors(socket.SafeHandle, data, descriptors) is var sent and < 0)
        {
            throw new IOException($"cannot send '{Verb(text)}': {Errors.Of((int)sent).Describe()}");
        }
    }

    /// <summary>
    /// Receives one message; descriptors it carried are added to <paramref name="descriptors"/> (the
    /// caller owns them). Throws <see cref="IOException"/> on a timeout, a closed peer or an error.
    /// </summary>
    public string Receive(List<int>? descriptors = null)
    {
        Span<byte> data = stackalloc byte[MaxMessage];
        Span<int> carried = stackalloc int[Libc.MaxDescriptorsPerMessage];
        var got = Libc.ReceiveWithDescriptors(socket.SafeHandle, data, carried, out var count, out var truncated);
        if (got < 0)
        {
            var errno = Errors.Of((int)got);
            throw new IOException(errno is Errno.EAGAIN ? string.Create(CultureInfo.InvariantCulture, $"no answer within {StepTimeout.TotalSeconds:0} s") : "receive failed: " + errno.Describe());
        }

        foreach (var fd in carried[..count])
        {
            if (descriptors is null)
            {
                Libc.Close(fd);
            }
            else
            {
                descriptors.Add(fd);
            }
        }

        if (got == 0)
        {
            throw new IOException("the other side closed the conversation");
        }

        if (truncated)
        {
            throw new IOException("a message carried more descriptors than fit");
        }

        return Encoding.UTF8.GetString(data[..(int)got]);
    }

    /// <summary>Receives a message and checks it starts with <paramref name="verb"/>; returns the words after it.</summary>
    public string[] Expect(string verb, List<int>? descriptors = null)
    {
        var text = Receive(descriptors);
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words[0] != verb)
        {
            throw new IOException(words.Length > 0 && words[0] == "refused" ? text["refused ".Length..] : $"expected '{verb}', got '{Verb(text)}'");
        }

        return words[1..];
    }

    private static string Verb(string text) => text.Split(' ')[0];

    public void Dispose() => socket.Dispose();
}
