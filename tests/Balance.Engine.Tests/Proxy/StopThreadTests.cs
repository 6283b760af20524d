using Balance.Proxy;
using Xunit;

namespace Balance.Tests.Proxy;

public sealed class StopThreadTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_first_stop_runs_once_on_the_thread_started_with_it_and_later_ones_are_ignored()
    {
        var stopThread = new StopThread("test stop");
        using var ran = new ManualResetEventSlim();
        var runs = 0;
        string? threadName = null;
        stopThread.Run(() =>
        {
            threadName = Thread.CurrentThread.Name;
            Interlocked.Increment(ref runs);
            ran.Set();
        });
        stopThread.Run(() => Interlocked.Add(ref runs, 100));
        stopThread.Cancel();

        Assert.True(ran.Wait(Wait));
        Thread.Sleep(100); // a second stop, were it taken, would have run by now
        Assert.Equal(1, Volatile.Read(ref runs));
        Assert.Equal("test stop", threadName);
    }

    [Fact]
    public void A_stop_asked_from_many_threads_at_once_runs_once()
    {
        var stopThread = new StopThread("test stop");
        var runs = 0;
        using var ran = new ManualResetEventSlim();
        Parallel.For(0, 64, _ => stopThread.Run(() =>
        {
            Interlocked.Increment(ref runs);
            ran.Set();
        }));

        Assert.True(ran.Wait(Wait));
        Thread.Sleep(100);
        Assert.Equal(1, Volatile.Read(ref runs));
    }

    [Fact]
    public void Cancel_ends_the_thread_without_a_stop_and_a_stop_after_it_never_runs()
    {
        var before = ThreadsNamed("test cancel");
        var stopThread = new StopThread("test cancel");
        Assert.True(Until(() => ThreadsNamed("test cancel") > before), "the thread did not start (or has no name)");
        stopThread.Cancel();
        var ran = false;
        stopThread.Run(() => ran = true);

        Until(() => ThreadsNamed("test cancel") <= before);
        Assert.True(ThreadsNamed("test cancel") <= before, "the thread did not end");
        Assert.False(ran);
    }

    private static bool Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        return condition();
    }

    /// <summary>Threads of this process with the kernel name <paramref name="name"/> (Linux; elsewhere 0).</summary>
    private static int ThreadsNamed(string name) => OperatingSystem.IsLinux()
        ? Directory.GetDirectories("/proc/self/task").Count(task => ReadName(task) == name)
        : 0;

    private static string? ReadName(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).Trim();
        }
        catch (IOException)
        {
            return null; // the thread ended between the listing and the read
        }
    }
}
