using Balance.Control;
using Balance.Shell;
using Xunit;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Shell;

public class KillTests
{
    [Fact]
    public async Task Kill_reports_completion_when_the_engine_releases_the_endpoint()
    {
        using var instance = new FakeInstance();
        var engine = instance.ObeyKillAsync(TimeSpan.FromSeconds(10));
        var session = new ShellSession(instance.Client);

        Assert.Equal("shutdown complete, exiting.\n", session.Run("kill", out var outcome));
        Assert.Equal(ShellOutcome.Killed, outcome);
        await engine.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(instance.Client.IsAlive);
    }

    [Fact]
    public void Kill_reports_failure_when_the_engine_stays()
    {
        using var instance = new FakeInstance();
        var session = new ShellSession(instance.Client, TimeSpan.FromMilliseconds(150));

        Assert.StartsWith("shutdown failed: ", session.Run("kill", out var outcome), StringComparison.Ordinal);
        Assert.Equal(ShellOutcome.KillFailed, outcome);
        Assert.Equal(KillRequest.None, instance.Segment.Header.KillRequested);
        Assert.True(instance.Client.IsAlive);
    }

    [Fact]
    public void Kill_ignores_extra_arguments_but_not_abbreviation()
    {
        using var instance = new FakeInstance();
        var session = new ShellSession(instance.Client, TimeSpan.FromMilliseconds(50));
        session.Run("kil", out var outcome);
        Assert.Equal(ShellOutcome.Continue, outcome);
        Assert.Equal(0, instance.Segment.Header.KillRequested);

        Assert.StartsWith("shutdown failed: ", session.Run("kill now", out outcome), StringComparison.Ordinal);
        Assert.Equal(ShellOutcome.KillFailed, outcome);
    }
}
