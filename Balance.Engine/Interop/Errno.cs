using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>
/// The Linux errno values the engine's own system calls can report (the C names, as the kernel's
/// headers spell them). Only the Linux calls read them: the numbers differ on other systems.
/// </summary>
internal enum Errno
{
    /// <summary>Success: no error.</summary>
    None = 0,
    EPERM = 1,
    ENOENT = 2,
    EINTR = 4,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EEXIST = 17,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOSPC = 28,
    EPIPE = 32,
    ENOSYS = 38,
    ELOOP = 40,
    EOPNOTSUPP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    ENOTCONN = 107,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    EINPROGRESS = 115,
}

/// <summary>Reading and translating <see cref="Errno"/> values.</summary>
internal static class Errors
{
    /// <summary>The errno the last call through <see cref="Libc"/> left behind.</summary>
    public static Errno Last() => (Errno)Marshal.GetLastPInvokeError();

    /// <summary>The error in a failed <see cref="Libc"/> result (a negated errno).</summary>
    public static Errno Of(long result) => result < 0 ? (Errno)(-result) : Errno.None;

    /// <summary>The system's text for <paramref name="errno"/>, for messages.</summary>
    public static string Describe(this Errno errno) => Marshal.GetPInvokeErrorMessage((int)errno);

    /// <summary>The errno as the runtime names socket errors, so callers handle both alike.</summary>
    public static SocketError ToSocketError(this Errno errno) => errno switch
    {
        Errno.None => SocketError.Success,
        Errno.EAGAIN => SocketError.WouldBlock,
        Errno.EINPROGRESS => SocketError.InProgress,
        Errno.EINTR => SocketError.Interrupted,
        Errno.EINVAL => SocketError.InvalidArgument,
        Errno.ENFILE or Errno.EMFILE => SocketError.TooManyOpenSockets,
        Errno.EAFNOSUPPORT => SocketError.AddressFamilyNotSupported,
        Errno.EADDRINUSE => SocketError.AddressAlreadyInUse,
        Errno.ENETDOWN => SocketError.NetworkDown,
        Errno.ECONNABORTED => SocketError.ConnectionAborted,
        Errno.ENOBUFS => SocketError.NoBufferSpaceAvailable,
        Errno.ENOTCONN => SocketError.NotConnected,
        Errno.EHOSTDOWN => SocketError.HostDown,
        Errno.EPIPE => SocketError.Shutdown,
        Errno.ECONNRESET => SocketError.ConnectionReset,
        Errno.ECONNREFUSED => SocketError.ConnectionRefused,
        Errno.ETIMEDOUT => SocketError.TimedOut,
        Errno.EHOSTUNREACH => SocketError.HostUnreachable,
        Errno.ENETUNREACH => SocketError.NetworkUnreachable,
        Errno.EADDRNOTAVAIL => SocketError.AddressNotAvailable,
        Errno.EACCES or Errno.EPERM => SocketError.AccessDenied,
        Errno.ENOMEM or Errno.ENOSPC => SocketError.NoBufferSpaceAvailable, // ENOSPC: epoll's watch limit
        _ => SocketError.SocketError,
    };

    /// <summary>A <see cref="SocketException"/> for a failed <see cref="Libc"/> result.</summary>
    public static SocketException SocketException(long result) => new((int)Of(result).ToSocketError());
}
