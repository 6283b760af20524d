using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Balance.Transport.Sockets;

/// <summary>
/// One reusable awaitable socket operation (connect, receive or send) that reports errors as a
/// value instead of throwing. A session owns two, one per relay direction (a direction never has
/// a receive and a send outstanding at once), so sockets never create their own cached event
/// args; and a reset peer — routine for a proxy — costs no exception and no stack trace.
/// Result: bytes transferred (≥ 0), or the negated <see cref="SocketError"/>. The static
/// <see cref="ReceiveNow"/> and <see cref="SendNow"/> are the same calls made directly, for the
/// relay's reads and sends that need no wait, with the same result convention.
/// </summary>
internal sealed class SocketOperation : SocketAsyncEventArgs, IValueTaskSource<int>
{
    private ManualResetValueTaskSourceCore<int> core;

    public SocketOperation()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>The result of <see cref="ReceiveNow"/> when nothing is there to read.</summary>
    public const int WouldBlock = -(int)SocketError.WouldBlock;

    public static SocketError ErrorOf(int result) => result < 0 ? (SocketError)(-result) : SocketError.Success;

    /// <summary>
    /// One non-blocking receive on a socket in non-blocking mode, done on the calling thread; on a
    /// blocking socket it does nothing and reports <see cref="WouldBlock"/>, so it can never stall
    /// the socket engine's thread.
    /// </summary>
    public static int ReceiveNow(Socket socket, Span<byte> buffer)
    {
        if (socket.Blocking)
        {
            return WouldBlock;
        }

        var n = socket.Receive(buffer, SocketFlags.None, out var error);
        return error == SocketError.Success ? n : -(int)error;
    }

    public ValueTask<int> ConnectAsync(Socket socket, EndPoint endpoint)
    {
        Prepare();
        RemoteEndPoint = endpoint;
        SetBuffer(Memory<byte>.Empty);
        try
        {
            return socket.ConnectAsync(this) ? Pending() : new ValueTask<int>(Result());
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<int>(-(int)SocketError.OperationAborted);
        }
    }

    /// <summary>Receives into <paramref name="buffer"/>; an empty buffer waits for data without consuming any.</summary>
    public ValueTask<int> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        Prepare();
        SetBuffer(buffer);
        try
        {
            return socket.ReceiveAsync(this) ? Pending() : new ValueTask<int>(Result());
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<int>(-(int)SocketError.OperationAborted);
        }
    }

    public ValueTask<int> SendAsync(Socket socket, Memory<byte> buffer)
    {
        Prepare();
        SetBuffer(buffer);
        try
        {
            return socket.SendAsync(this) ? Pending() : new ValueTask<int>(Result());
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<int>(-(int)SocketError.OperationAborted);
        }
    }

    /// <summary>
    /// One non-blocking send on a socket in non-blocking mode, done on the calling thread: the
    /// bytes taken (0 when the send buffer is full, or on a blocking socket, where it does nothing),
    /// or the negated <see cref="SocketError"/>.
    /// </summary>
    public static int SendNow(Socket socket, ReadOnlySpan<byte> data)
    {
        if (socket.Blocking)
        {
            return 0;
        }

        var sent = socket.Send(data, SocketFlags.None, out var error);
        return error switch
        {
            SocketError.Success => sent,
            SocketError.WouldBlock => 0,
            _ => -(int)error,
        };
    }

    /// <summary>Drops the buffer reference so a pooled buffer is not kept alive by an idle session.</summary>
    public void ClearBuffer() => SetBuffer(Memory<byte>.Empty);

    int IValueTaskSource<int>.GetResult(short token) => core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        core.OnCompleted(continuation, state, token, flags);

    protected override void OnCompleted(SocketAsyncEventArgs e) => core.SetResult(Result());

    private void Prepare() => core.Reset();

    private ValueTask<int> Pending() => new(this, core.Version);

    private int Result() => SocketError == SocketError.Success ? BytesTransferred : -(int)SocketError;
}
