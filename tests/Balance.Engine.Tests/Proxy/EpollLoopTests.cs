using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Balance.Interop;
using Balance.Proxy;
using Balance.Tests.Infrastructure;
using Balance.Transport.Epoll;
using Balance.Transport.Sockets;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>
/// The engine's epoll loop on real loopback sockets: edges reach the waiting direction, an edge
/// nobody waited for is kept, the end of stream is kept apart from the data, an aborted
/// registration ends its waits (which resume on the loop's thread), an event for a freed slot
/// reaches nobody, its periodic tick runs on its thread without leaving it spinning, and posted
/// work runs before the next wait, or on the pool once the loop is gone.
/// </summary>
public sealed class EpollLoopTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly EpollLoop? loop = EpollLoop.TryCreate(64, e => throw new InvalidOperationException("loop error", e));
    private readonly TestSockets sockets = new();

    public void Dispose()
    {
        loop?.Dispose();
        sockets.Dispose();
    }

    [Fact]
    public async Task A_wait_ends_when_data_arrives_and_an_edge_nobody_waited_for_is_kept()
    {
        if (loop is null)
        {
            return; // no loop on this system: the runtime's operations are used, tested elsewhere
        }

        var (mine, peer) = sockets.Pair();
        var io = loop.Register(mine.SafeHandle);
        io.Readable.Clear(); // drop the edge the registration itself may report
        var wait = io.Readable.WaitAsync().AsTask();
        Assert.False(wait.IsCompleted);

        peer.Send("a"u8);
        Assert.Equal(0, await wait.WaitAsync(Bound));
        Assert.Equal(1, mine.Receive(new byte[8]));

        peer.Send("b"u8);
        await Eventually.TrueAsync(() => io.Readable.IsSignaled, "the edge while nobody waited is kept");
        var kept = io.Readable.WaitAsync();
        Assert.True(kept.IsCompletedSuccessfully);
        Assert.Equal(0, await kept);
        Assert.False(io.Readable.HasEnded);
    }

    [Fact]
    public async Task A_fin_that_came_with_the_data_is_kept_as_the_end_of_stream()
    {
        if (loop is null)
        {
            return;
        }

        var (mine, peer) = sockets.Pair();
        peer.Send("hello"u8);
        peer.Shutdown(SocketShutdown.Send);
        await Task.Delay(50); // both are queued before the socket joins the loop

        var io = loop.Register(mine.SafeHandle);
        await Eventually.TrueAsync(() => io.Readable.HasEnded, "the FIN is known");

        // The read that takes the data leaves the FIN queued behind it; no edge will announce it again.
        io.Readable.Clear();
        var buffer = new byte[64];
        Assert.Equal("hello", Encoding.ASCII.GetString(buffer, 0, mine.Receive(buffer)));
        Assert.True(io.Readable.HasEnded);
        Assert.Equal(0, mine.Receive(buffer));
    }

    [Fact]
    public async Task Aborting_a_registration_ends_a_pending_wait_and_every_later_one()
    {
        if (loop is null)
        {
            return;
        }

        var (mine, _) = sockets.Pair();
        var io = loop.Register(mine.SafeHandle);
        io.Readable.Clear();
        var wait = io.Readable.WaitAsync().AsTask();

        io.Abort();

        Assert.Equal(-(int)SocketError.OperationAborted, await wait.WaitAsync(Bound));
        Assert.Equal(-(int)SocketError.OperationAborted, await io.Writable.WaitAsync());
    }

    [Fact]
    public async Task An_aborted_wait_resumes_on_the_loop_thread_not_inside_the_caller()
    {
        if (loop is null)
        {
            return;
        }

        var (mine, _) = sockets.Pair();
        var io = loop.Register(mine.SafeHandle);
        io.Readable.Clear();
        var resumedOn = ResumedOnAsync(io.Readable);

        io.Abort();
        var (result, thread) = await resumedOn.WaitAsync(Bound);
        Assert.Equal(-(int)SocketError.OperationAborted, result);
        Assert.NotEqual(Libc.GetThreadId(), thread);
        Assert.Equal("balance epoll", File.ReadAllText($"/proc/self/task/{thread}/comm").Trim());

        static async Task<(int Result, int Thread)> ResumedOnAsync(Readiness readiness)
        {
            var result = await readiness.WaitAsync().ConfigureAwait(false);
            return (result, Libc.GetThreadId());
        }
    }

    [Fact]
    public async Task Work_a_tick_posts_runs_before_the_loop_waits_again()
    {
        if (loop is null)
        {
            return;
        }

        // Nothing else happens on this loop: posted work that waited for the end of the loop's
        // next wait would run a whole period (3 s) after the tick that posted it.
        var period = TimeSpan.FromSeconds(3);
        var ticks = 0;
        var tickedAt = 0L;
        var delay = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        loop.SetTick(
            () =>
            {
                if (Interlocked.Increment(ref ticks) == 1)
                {
                    tickedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                    loop.Post(static state => ((Action)state!)(), (Action)(() => delay.TrySetResult(System.Diagnostics.Stopwatch.GetElapsedTime(tickedAt))));
                }
            },
            period);

        var ranAfter = await delay.Task.WaitAsync(period * 3);
        loop.SetTick(null, period);
        Assert.True(ranAfter < period / 2, $"posted work ran {ranAfter.TotalMilliseconds:F0} ms after the tick");
    }

    [Fact]
    public async Task Work_that_posts_itself_again_leaves_the_loop_free_to_take_events()
    {
        if (loop is null)
        {
            return;
        }

        // As a bulk direction does that yields again each time it goes on: run all of it at
        // once and the loop would never wait for events again.
        var (mine, peer) = sockets.Pair();
        var io = loop.Register(mine.SafeHandle);
        io.Readable.Clear();
        var stop = 0;
        var rounds = 0;
        Action<object?>? again = null;
        again = _ =>
        {
            Interlocked.Increment(ref rounds);
            if (Volatile.Read(ref stop) == 0)
            {
                loop.Post(again!, null);
            }
        };

        try
        {
            loop.Post(again, null);
            await Eventually.TrueAsync(() => Volatile.Read(ref rounds) > 10, "the work goes round");
            var wait = io.Readable.WaitAsync().AsTask();
            peer.Send("a"u8);
            Assert.Equal(0, await wait.WaitAsync(Bound));
        }
        finally
        {
            Volatile.Write(ref stop, 1);
        }
    }

    [Fact]
    public async Task A_yield_goes_on_on_the_loop_thread()
    {
        if (loop is null)
        {
            return;
        }

        var thread = await YieldedOnAsync(loop).WaitAsync(Bound);
        Assert.NotEqual(Libc.GetThreadId(), thread);
        Assert.Equal("balance epoll", File.ReadAllText($"/proc/self/task/{thread}/comm").Trim());

        static async Task<int> YieldedOnAsync(EpollLoop on)
        {
            await on.Yield();
            return Libc.GetThreadId();
        }
    }

    [Fact]
    public async Task A_yield_awaited_by_hand_carries_the_callers_execution_context()
    {
        if (loop is null)
        {
            return;
        }

        // The async builders flow the context themselves (UnsafeOnCompleted); a caller of
        // OnCompleted relies on the awaiter to do it.
        var value = new AsyncLocal<string?> { Value = "the caller's" };
        var seen = new TaskCompletionSource<(string?, int)>(TaskCreationOptions.RunContinuationsAsynchronously);
        loop.Yield().GetAwaiter().OnCompleted(() => seen.TrySetResult((value.Value, Libc.GetThreadId())));
        var (flowed, thread) = await seen.Task.WaitAsync(Bound);
        Assert.Equal("the caller's", flowed);
        Assert.Equal("balance epoll", File.ReadAllText($"/proc/self/task/{thread}/comm").Trim());
    }

    [Fact]
    public async Task Work_posted_to_a_stopped_loop_still_runs()
    {
        var stopped = EpollLoop.TryCreate(64, e => throw new InvalidOperationException("loop error", e));
        if (stopped is null)
        {
            return;
        }

        stopped.Dispose();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        stopped.Post(static state => ((TaskCompletionSource)state!).TrySetResult(), ran);
        await ran.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task An_event_for_a_freed_slot_reaches_nobody()
    {
        if (loop is null)
        {
            return;
        }

        var (first, firstPeer) = sockets.Pair();
        var (second, _) = sockets.Pair();
        var old = loop.Register(first.SafeHandle);
        loop.Unregister(old);
        var reused = loop.Register(second.SafeHandle);
        Assert.Equal(old.Slot, reused.Slot);
        Assert.NotEqual(old.Generation, reused.Generation);
        reused.Readable.Clear();
        var wait = reused.Readable.WaitAsync().AsTask();

        // The first socket is still open and in the epoll set: its events carry the old generation.
        firstPeer.Send("x"u8);
        await Task.Delay(200);

        Assert.False(wait.IsCompleted);
        reused.Abort();
        await wait.WaitAsync(Bound);
    }

    [Fact]
    public async Task A_wait_for_room_ends_when_the_peer_reads()
    {
        if (loop is null)
        {
            return;
        }

        var (mine, peer) = sockets.Pair();
        mine.Blocking = false;
        var io = loop.Register(mine.SafeHandle);
        var chunk = new byte[64 * 1024];
        var sent = 0L;
        int n;
        while ((n = SocketOperation.SendNow(mine, chunk)) > 0)
        {
            sent += n;
        }

        // Full, and the peer reads nothing yet, so no edge can come before the wait: drop those
        // that came while the buffer filled.
        io.Writable.Clear();
        var wait = io.Writable.WaitAsync().AsTask();
        var drained = 0L;
        var buffer = new byte[256 * 1024];
        while (!wait.IsCompleted && drained < sent)
        {
            drained += await peer.ReceiveAsync(buffer);
        }

        Assert.Equal(0, await wait.WaitAsync(Bound));
        Assert.True(SocketOperation.SendNow(mine, chunk) > 0);
    }

    [Fact]
    public void A_stopped_loop_refuses_new_sockets_instead_of_adding_them_to_a_closed_descriptor()
    {
        var stopped = EpollLoop.TryCreate(64, e => throw new InvalidOperationException("loop error", e));
        if (stopped is null)
        {
            return;
        }

        var (mine, _) = sockets.Pair();
        stopped.Dispose();

        Assert.Throws<ObjectDisposedException>(() => stopped.Register(mine.SafeHandle));
    }

    [Fact]
    public void A_socket_the_kernel_refuses_throws_a_socket_error_and_leaves_its_slot_free()
    {
        if (loop is null)
        {
            return;
        }

        var (mine, other) = sockets.Pair();
        var first = loop.Register(mine.SafeHandle);

        // The same descriptor twice: epoll_ctl fails (EEXIST), and the slot it was given goes back.
        Assert.Throws<SocketException>(() => loop.Register(mine.SafeHandle));
        var next = loop.Register(other.SafeHandle);
        Assert.Equal(first.Slot + 1, next.Slot);
    }

    [Fact]
    public async Task A_tick_runs_on_the_loop_thread_every_period_and_stops_when_cleared()
    {
        if (loop is null)
        {
            return;
        }

        var ticks = 0;
        var loopThread = 0;
        loop.SetTick(
            () =>
            {
                loopThread = Libc.GetThreadId();
                Interlocked.Increment(ref ticks);
            },
            TimeSpan.FromMilliseconds(20));

        await Eventually.TrueAsync(() => Volatile.Read(ref ticks) >= 5, "five ticks");
        Assert.NotEqual(Libc.GetThreadId(), loopThread);
        Assert.Equal("balance epoll", File.ReadAllText($"/proc/self/task/{loopThread}/comm").Trim());

        loop.SetTick(null, TimeSpan.FromMilliseconds(20));
        await Task.Delay(50);
        var stopped = Volatile.Read(ref ticks);
        var cpuBefore = ThreadCpuTicks(loopThread);
        await Task.Delay(300);

        // One tick may still come: the loop may have taken it before the clear and been
        // descheduled before running it, on a busy host for longer than the 50 ms above.
        Assert.InRange(Volatile.Read(ref ticks), stopped, stopped + 1);

        // Each SetTick wakes the loop through its eventfd; one left unread would make every later
        // wait return at once, and the idle loop would spin.
        Assert.InRange(ThreadCpuTicks(loopThread) - cpuBefore, 0, 5);
    }

    [Fact]
    public async Task A_failing_tick_goes_to_the_error_handler_and_the_ticks_go_on()
    {
        var errors = 0;
        using var failing = EpollLoop.TryCreate(64, _ => Interlocked.Increment(ref errors));
        if (failing is null)
        {
            return;
        }

        failing.SetTick(() => throw new InvalidOperationException("a bug in the tick"), TimeSpan.FromMilliseconds(10));
        await Eventually.TrueAsync(() => Volatile.Read(ref errors) >= 3, "three failed ticks reported");
        failing.SetTick(null, TimeSpan.FromMilliseconds(10));
    }

    /// <summary>User plus system clock ticks of one thread of this process.</summary>
    private static long ThreadCpuTicks(int tid)
    {
        var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }
}
