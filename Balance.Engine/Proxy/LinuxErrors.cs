using System.Net.Sockets;

namespace Balance.Proxy;

/// <summary>
/// The Linux errno values the engine's own system calls (the epoll loop's registrations, its
/// descriptors' accepts, reads, sends and connects) can report, as the runtime names them, so
/// their callers handle them as they handle the runtime's socket errors.
/// </summary>
internal static class LinuxErrors
{
    public const int WouldBlock = 11; // EAGAIN
    public const int InProgress = 115; // EINPROGRESS

    public static SocketError ToSocketError(int errno) => errno switch
    {
        WouldBlock => SocketError.WouldBlock,
        4 => SocketError.Interrupted, // EINTR
        22 => SocketError.InvalidArgument, // EINVAL
        23 or 24 => SocketError.TooManyOpenSockets, // ENFILE, EMFILE
        97 => SocketError.AddressFamilyNotSupported,
        98 => SocketError.AddressAlreadyInUse,
        100 => SocketError.NetworkDown,
        103 => SocketError.ConnectionAborted,
        105 => SocketError.NoBufferSpaceAvailable, // ENOBUFS
        107 => SocketError.NotConnected,
        112 => SocketError.HostDown,
        32 => SocketError.Shutdown, // EPIPE
        104 => SocketError.ConnectionReset,
        111 => SocketError.ConnectionRefused,
        110 => SocketError.TimedOut,
        113 => SocketError.HostUnreachable,
        101 => SocketError.NetworkUnreachable,
        99 => SocketError.AddressNotAvailable,
        13 or 1 => SocketError.AccessDenied, // EACCES, EPERM
        12 or 28 => SocketError.NoBufferSpaceAvailable, // ENOMEM, ENOSPC (epoll's watch limit)
        _ => SocketError.SocketError,
    };
}
