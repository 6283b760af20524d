using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>
/// Descriptor passing over a Unix-domain socket (<c>sendmsg</c>/<c>recvmsg</c> with
/// <c>SCM_RIGHTS</c>) and the peer's credentials (<c>SO_PEERCRED</c>), for the takeover of a
/// running engine. Linux x86-64 and arm64 layouts: <c>msghdr</c> 56 bytes, <c>cmsghdr</c> 16.
/// </summary>
internal static unsafe partial class Libc
{
    /// <summary>The most descriptors one message carries (the kernel's SCM_MAX_FD is 253).</summary>
    public const int MaxDescriptorsPerMessage = 200;

    private const int ScmRights = 1;
    private const int SoPeerCredentials = 17;
    private const int MessageCloseOnExec = 0x40000000; // MSG_CMSG_CLOEXEC
    private const int ControlHeaderSize = 16;

    /// <summary>The process at the other end of a connected Unix-domain socket.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PeerCredentials
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    /// <summary>The peer's pid and user, as the kernel recorded them at connect; the negated errno on failure.</summary>
    public static int GetPeerCredentials(SafeHandle socket, out PeerCredentials credentials)
    {
        PeerCredentials found;
        var length = sizeof(PeerCredentials);
        var result = Result(Raw.GetOption(socket, SolSocket, SoPeerCredentials, (int*)&found, &length));
        credentials = found;
        return result;
    }

    /// <summary>One message of <paramref name="data"/> (1 byte or more) carrying <paramref name="descriptors"/>: bytes sent or the negated errno.</summary>
    public static nint SendWithDescriptors(SafeHandle socket, ReadOnlySpan<byte> data, ReadOnlySpan<int> descriptors)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(descriptors.Length, MaxDescriptorsPerMessage);
        var controlLength = descriptors.IsEmpty ? 0 : ControlSpace(descriptors.Length);
        var control = stackalloc byte[Math.Max(controlLength, 1)];
        new Span<byte>(control, controlLength).Clear();
        if (controlLength > 0)
        {
            *(long*)control = ControlHeaderSize + (descriptors.Length * sizeof(int));
            *(int*)(control + 8) = SolSocket;
            *(int*)(control + 12) = ScmRights;
            descriptors.CopyTo(new Span<int>(control + ControlHeaderSize, descriptors.Length));
        }

        fixed (byte* payload = data)
        {
            var vector = new IoVector { Base = payload, Length = (nuint)data.Length };
            var message = new MessageHeader { Vector = &vector, VectorLength = 1, Control = controlLength > 0 ? control : null, ControlLength = (nuint)controlLength };
            return Result(Raw.SendMessage(socket, &message, MsgNoSignal));
        }
    }

    /// <summary>
    /// Receives one message into <paramref name="data"/> and up to <paramref name="descriptors"/>.Length
    /// descriptors (close-on-exec). Returns the bytes received or the negated errno; <paramref name="received"/>
    /// is the number of descriptors, and <paramref name="truncated"/> is set when more were sent than fit (the rest are closed by the kernel).
    /// </summary>
    public static nint ReceiveWithDescriptors(SafeHandle socket, Span<byte> data, Span<int> descriptors, out int received, out bool truncated)
    {
        received = 0;
        truncated = false;
        var controlLength = ControlSpace(Math.Max(descriptors.Length, 1));
        var control = stackalloc byte[controlLength];
        new Span<byte>(control, controlLength).Clear();
        fixed (byte* payload = data)
        {
            var vector = new IoVector { Base = payload, Length = (nuint)data.Length };
            var message = new MessageHeader { Vector = &vector, VectorLength = 1, Control = control, ControlLength = (nuint)controlLength };
            var result = Result(Raw.ReceiveMessage(socket, &message, MessageCloseOnExec));
            if (result < 0)
            {
                return result;
            }

            truncated = (message.Flags & 0x8) != 0; // MSG_CTRUNC
            if (message.ControlLength >= ControlHeaderSize && *(int*)(control + 8) == SolSocket && *(int*)(control + 12) == ScmRights)
            {
                var count = (int)((*(long*)control - ControlHeaderSize) / sizeof(int));
                received = Math.Min(count, descriptors.Length);
                new ReadOnlySpan<int>(control + ControlHeaderSize, received).CopyTo(descriptors);
            }

            return result;
        }
    }

    private static int ControlSpace(int descriptors) => ControlHeaderSize + (((descriptors * sizeof(int)) + 7) & ~7);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public int NameLength;
        public IoVector* Vector;
        public nuint VectorLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "sendmsg", SetLastError = true)]
        internal static partial nint SendMessage(SafeHandle socket, MessageHeader* message, int flags);

        [LibraryImport(Library, EntryPoint = "recvmsg", SetLastError = true)]
        internal static partial nint ReceiveMessage(SafeHandle socket, MessageHeader* message, int flags);
    }
}
