using Balance.Control;

namespace BalancePowerShellTests;

/// <summary>The health and drain parameters of the cmdlets, against a fake instance whose segment the test sets.</summary>
public sealed class HealthCmdletTests : IDisposable
{
    private readonly FakeInstance fake = FakeInstance.WithSampleChannels();
    private readonly PowerShellSession ps = new();

    public void Dispose()
    {
        ps.Dispose();
        fake.Dispose();
    }

    [Fact]
    public void Get_BalanceChannel_shows_the_states_and_filters_by_health()
    {
        fake.Segment.Channel(0, 1).Health = ChannelHealth.Down;
        fake.Segment.Record(0, 1).LastCheckResult = (int)CheckResult.Refused;
        fake.Segment.Record(0, 1).LastCheckUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var down = ps.Run("Get-BalanceChannel -Port $args[0] -Health Down", fake.Port).ThrowOnError().Of("BalanceChannel");
        var only = Assert.Single(down);
        Assert.Equal((1, "Down", "Refused", false), (only.P<int>("Index"), only.P<ChannelHealth>("Health").ToString(), only.P<CheckResult>("LastCheckResult").ToString(), only.P<bool>("Serving")));
        Assert.NotNull(only.P<DateTimeOffset?>("LastCheck"));
        var up = ps.Run("Get-BalanceChannel -Port $args[0] -Health Unknown, Up -AdminState Enabled", fake.Port).ThrowOnError().Of("BalanceChannel");
        Assert.DoesNotContain(up, c => c.P<int>("Index") == 1 && c.P<int>("Group") == 0);
    }

    [Fact]
    public void Disable_Drain_Wait_fails_at_the_timeout_saying_how_many_are_left_and_leaves_the_channel_draining()
    {
        fake.Segment.Channel(0, 0).Connections = 2;
        var r = ps.Run("Disable-BalanceChannel -Port $args[0] -Index 0 -Drain -Wait -Timeout 0.3", fake.Port);
        Assert.Equal(["DrainTimeout,Balance.PowerShell.DisableBalanceChannelCommand"], r.ErrorIds);
        Assert.Contains("2 connection(s)", r.Errors[0].ToString(), StringComparison.Ordinal);
        Assert.Equal(ChannelAdminState.Draining, fake.Client.GetChannel(0, 0).AdminState);

        fake.Segment.Channel(0, 0).Connections = 0;
        ps.Run("Disable-BalanceChannel -Port $args[0] -Index 0 -Drain -Wait -Timeout 5", fake.Port).ThrowOnError();
        Assert.Equal(ChannelAdminState.Disabled, fake.Client.GetChannel(0, 0).AdminState);
    }

    [Fact]
    public void Stop_Drain_fails_at_the_timeout_and_leaves_the_instance_running_with_its_channels_draining()
    {
        fake.Segment.Channel(0, 1).Connections = 1;
        var r = ps.Run("Stop-Balance -Port $args[0] -Drain -Timeout 1 -Confirm:$false", fake.Port);
        Assert.Equal(["DrainTimeout,Balance.PowerShell.StopBalanceCommand"], r.ErrorIds);
        Assert.Contains("1 connection(s) of the Balance instance", r.Errors[0].ToString(), StringComparison.Ordinal);
        Assert.False(fake.Killed);
        Assert.Equal(ChannelAdminState.Draining, fake.Client.GetChannel(0, 0).AdminState);
        r = ps.Run("Stop-Balance -Port $args[0] -Force -Confirm:$false", fake.Port);
        Assert.Equal(["InvalidArgument,Balance.PowerShell.StopBalanceCommand"], r.ErrorIds);
    }

    [Fact]
    public void Drain_options_without_drain_are_refused_before_anything_changes()
    {
        var r = ps.Run("Disable-BalanceChannel -Port $args[0] -Index 0 -Wait", fake.Port);
        Assert.Equal(["InvalidArgument,Balance.PowerShell.DisableBalanceChannelCommand"], r.ErrorIds);
        Assert.Equal(ChannelAdminState.Enabled, fake.Client.GetChannel(0, 0).AdminState);
    }

    [Fact]
    public void Export_csv_and_health_counters_carry_the_states()
    {
        fake.Segment.Channel(0, 0).Health = ChannelHealth.Down;
        var path = Path.Combine(Path.GetTempPath(), "balance-health-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            ps.Run("Export-BalanceCounter -Port $args[0] -Group 0 -Index 0 -Path $args[1] -Format Csv -Kind Health", fake.Port, path).ThrowOnError();
            var rows = File.ReadAllLines(path);
            Assert.EndsWith("\"AdminState\",\"Health\",\"LastCheck\",\"LastCheckResult\"", rows[0], StringComparison.Ordinal);
            Assert.Contains("\"Health\",\"0\",\"1\"", rows[1], StringComparison.Ordinal);
            Assert.EndsWith("\"Enabled\",\"Down\",\"\",\"None\"", rows[1], StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
