using Balance.Control;
using Balance.Shell;
using Balance.Tests.Infrastructure;
using Balance.Tests.Shell;
using Xunit;

namespace Balance.Tests.Health;

/// <summary>The shell's drain, health, check and mrtg-health, and show kept byte for byte.</summary>
public sealed class HealthShellTests : IDisposable
{
    private readonly FakeInstance instance = new();
    private readonly ShellSession shell;

    public HealthShellTests()
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.AddChannel(0, "127.0.0.1", 9102);
        shell = new ShellSession(instance.Client);
    }

    public void Dispose() => instance.Dispose();

    [Fact]
    public void Drain_replies_as_enable_and_disable_do_and_show_keeps_its_columns()
    {
        var before = shell.Run("show");
        Assert.Equal("channel 1 draining\n", shell.Run("drain 1"));
        Assert.Equal("channel 1 already draining\n", shell.Run("drain 1"));
        Assert.Equal("no such channel 7\n", shell.Run("drain 7"));
        var after = shell.Run("show");
        Assert.Equal(before.Split('\n')[0], after.Split('\n')[0]);
        Assert.Equal(before.Split('\n')[2].Replace(" ENA ", " drn ", StringComparison.Ordinal), after.Split('\n')[2]);
    }

    [Fact]
    public void New_commands_answer_to_their_full_name_only_so_old_abbreviations_keep_their_meaning()
    {
        Assert.Equal("channel 0 disabled\n", shell.Run("d 0"));
        Assert.StartsWith("available commands:", shell.Run("he"), StringComparison.Ordinal);
        Assert.Equal("syntax error\n", shell.Run("dra 0"));
        Assert.Equal("syntax error\n", shell.Run("heal"));
    }

    [Fact]
    public void Health_shows_states_last_check_and_result_in_80_columns()
    {
        ref var record = ref instance.Segment.Record(0, 1);
        record.Health = (int)ChannelHealth.Down;
        record.HealthSource = (int)HealthSource.Check;
        record.LastCheckResult = (int)CheckResult.UnexpectedReply;
        record.LastCheckUnixMs = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeMilliseconds();
        record.LastCheckMs = 12;
        record.CheckStreak = -3;
        var lines = shell.Run("health").TrimEnd('\n').Split('\n');
        Assert.Equal("checks off; passive off (times UTC)", lines[0]);
        Assert.Equal(HealthFormatter.Header, lines[1]);
        Assert.StartsWith("  0  0 ENA unknown -", lines[2], StringComparison.Ordinal);
        Assert.Equal("  0  1 ENA down    check   -        03:04:05 unexpected reply    12     -3    0", lines[3]);
        Assert.All(lines, l => Assert.True(l.Length <= 80, l));
    }

    [Fact]
    public void Check_sets_a_channels_own_settings_and_a_bad_value_changes_nothing()
    {
        Assert.Equal("channel 0 checks: interval 500 ms, rise 3, fall the instance's, port 9201\n", shell.Run("check 0 interval 500 rise 3 port 9201"));
        Assert.StartsWith("check: invalid rise [-1]", shell.Run("check 0 rise -1"), StringComparison.Ordinal);
        Assert.StartsWith("check: unknown setting [speed]", shell.Run("check 0 speed 3"), StringComparison.Ordinal);
        Assert.Equal(new ChannelCheckOverrides(500, 3, 0, 9201), instance.Client.GetChannel(0, 0).CheckOverrides);
    }

    [Fact]
    public void Mrtg_health_prints_not_down_and_enabled_as_numbers()
    {
        instance.Segment.Channel(0, 1).Health = ChannelHealth.Down;
        var lines = shell.Run("mrtg-health 0 1").Split('\n');
        Assert.Equal(("0", "1", "group 0 channel 1"), (lines[0], lines[1], lines[3]));
        shell.Run("disable 0");
        lines = shell.Run("mrtg-health 0 0").Split('\n');
        Assert.Equal(("1", "0"), (lines[0], lines[1]));
    }
}
