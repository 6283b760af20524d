using Balance.Interop;
using Balance.Proxy;
using Balance.Transport.Epoll;
using Xunit;

namespace Balance.Tests.Proxy;

/// <summary>
/// The splice pipes' pool on real kernel pipes: it never holds more than its capacity, hands a
/// returned pipe out again instead of making one, closes what it is not to keep, and makes its
/// pipes large enough for a quarter MiB per splice.
/// </summary>
public sealed class PipePoolTests
{
    private const int GetPipeSize = 1032; // F_GETPIPE_SZ

    [Fact]
    public void A_returned_pipe_is_handed_out_again_and_the_capacity_is_never_exceeded()
    {
        if (!Libc.IsLinuxX64)
        {
            return;
        }

        using var pool = new PipePool(2);
        var first = pool.Rent();
        var second = pool.Rent();
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(pool.Rent());
        Assert.Equal(2, pool.InUse);

        pool.Return(first.Value);
        Assert.Equal(1, pool.InUse);
        Assert.Equal(first, pool.Rent());
        Assert.Equal(2, pool.Existing);
        Assert.Equal(3, pool.Rentals);

        var discarded = Identity(second.Value.Read);
        pool.Discard(second.Value);
        Assert.Equal(1, pool.Existing);
        Assert.NotEqual(discarded, Identity(second.Value.Read));
        Assert.NotNull(pool.Rent());
    }

    [Fact]
    public void Pipes_hold_a_quarter_MiB_when_the_system_allows_it_and_never_less_than_the_default()
    {
        if (!Libc.IsLinuxX64)
        {
            return;
        }

        using var pool = new PipePool(1);
        var pipe = pool.Rent();
        var allowed = int.Parse(File.ReadAllText("/proc/sys/fs/pipe-max-size").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        if (pipe is null)
        {
            // Only over this user's pipe quota, where the system makes small pipes, which the
            // pool does not hand out (copying does better than splicing through them).
            Assert.True(PlainPipeSize() < PipePool.MinPipeBytes, "the pool made no pipe although the system makes full-size ones");
            return;
        }

        var size = Libc.Fcntl(pipe.Value.Write, GetPipeSize, 0);
        Assert.InRange(size, PipePool.MinPipeBytes, PipePool.PipeBytes);
        if (allowed >= PipePool.PipeBytes && size < PipePool.PipeBytes)
        {
            // Refused by the quota, not by the system's maximum: the default size is what is left.
            Assert.Equal(PipePool.MinPipeBytes, size);
        }

        pool.Return(pipe.Value);
    }

    [Fact]
    public void Dispose_closes_the_kept_pipes_and_a_pipe_given_back_later()
    {
        if (!Libc.IsLinuxX64)
        {
            return;
        }

        var pool = new PipePool(2);
        var kept = pool.Rent()!.Value;
        var busy = pool.Rent()!.Value;
        var (keptPipe, busyPipe) = (Identity(kept.Read), Identity(busy.Write));
        pool.Return(kept);
        pool.Dispose();

        Assert.NotEqual(keptPipe, Identity(kept.Read));
        Assert.Equal(busyPipe, Identity(busy.Write));
        Assert.Equal(1, pool.Existing);
        Assert.Null(pool.Rent());

        pool.Return(busy);
        Assert.Equal(0, pool.Existing);
        Assert.NotEqual(busyPipe, Identity(busy.Write));
    }

    /// <summary>
    /// What descriptor <paramref name="fd"/> is now ("pipe:[inode]"), or null when it is closed: a
    /// number that another test reopened in the meantime reads as something else, never the same pipe.
    /// </summary>
    private static string? Identity(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    public void A_disabled_pool_hands_out_nothing_and_closes_what_it_keeps_and_gets_back()
    {
        if (!Libc.IsLinuxX64)
        {
            return;
        }

        using var pool = new PipePool(2);
        var kept = pool.Rent()!.Value;
        var busy = pool.Rent()!.Value;
        var (keptPipe, busyPipe) = (Identity(kept.Read), Identity(busy.Read));
        pool.Return(kept);

        // What a direction does when the system refuses splicing (SpliceOutcome.Unsupported).
        pool.Disable();
        Assert.Null(pool.Rent());
        Assert.NotEqual(keptPipe, Identity(kept.Read));

        pool.Return(busy);
        Assert.NotEqual(busyPipe, Identity(busy.Read));
        Assert.Equal(0, pool.Existing);
        Assert.Equal(0, pool.InUse);
    }

    /// <summary>The size of a new pipe made without asking for one.</summary>
    private static unsafe int PlainPipeSize()
    {
        var fds = stackalloc int[2];
        Assert.Equal(0, Libc.Pipe(fds, 0));
        var size = Libc.Fcntl(fds[0], GetPipeSize, 0);
        _ = Libc.Close(fds[0]);
        _ = Libc.Close(fds[1]);
        return size;
    }
}
