using Balance.Transport.Epoll;
using Xunit;

namespace Balance.Tests.Transport;

/// <summary>
/// The readiness a relay direction waits on, with the step that relays the steady state on the
/// loop thread: an edge the step handles leaves the wait pending, one it declines ends it, and
/// an abort or a kept edge never runs it.
/// </summary>
public sealed class ReadinessTests : IDisposable
{
    private readonly EpollLoop? loop = EpollLoop.TryCreate(16, static _ => { });

    [Fact]
    public async Task An_edge_the_step_handles_keeps_the_wait_and_one_it_declines_ends_it()
    {
        if (loop is null)
        {
            return; // the epoll loop needs Linux x86-64
        }

        var readiness = new Readiness(loop);
        var step = new CountingStep { Handles = 2 };
        var wait = readiness.WaitAsync(step).AsTask();

        readiness.Signal(end: false);
        readiness.Signal(end: false);
        Assert.Equal(2, step.Runs);
        Assert.False(wait.IsCompleted, "an edge the step handled ended the wait");

        readiness.Signal(end: false);
        Assert.Equal(3, step.Runs);
        Assert.Equal(0, await wait.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(readiness.IsSignaled, "the declined edge is the wait's, not kept for the next");
    }

    [Fact]
    public async Task An_abort_ends_a_wait_with_a_step_and_later_edges_never_run_it()
    {
        if (loop is null)
        {
            return;
        }

        var readiness = new Readiness(loop);
        var step = new CountingStep { Handles = int.MaxValue };
        var wait = readiness.WaitAsync(step).AsTask();

        readiness.Abort();
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(5)) < 0);
        readiness.Signal(end: false);
        Assert.Equal(0, step.Runs);
    }

    [Fact]
    public async Task An_edge_kept_before_the_wait_ends_it_at_once_without_the_step()
    {
        if (loop is null)
        {
            return;
        }

        var readiness = new Readiness(loop);
        readiness.Signal(end: false);
        var step = new CountingStep { Handles = int.MaxValue };
        var wait = readiness.WaitAsync(step);

        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(0, await wait);
        Assert.Equal(0, step.Runs);
    }

    [Fact]
    public async Task A_wait_without_a_step_ends_at_the_first_edge()
    {
        if (loop is null)
        {
            return;
        }

        var plain = new Readiness(loop);
        var wait = plain.WaitAsync().AsTask();
        plain.Signal(end: false);
        Assert.Equal(0, await wait.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    public void Dispose() => loop?.Dispose();

    private sealed class CountingStep : IReadyStep
    {
        public int Handles { get; init; }

        public int Runs { get; private set; }

        public bool TryStep() => ++Runs <= Handles;
    }
}
