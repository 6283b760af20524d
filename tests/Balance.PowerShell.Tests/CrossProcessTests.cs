using System.Diagnostics;

namespace BalancePowerShellTests;

/// <summary>
/// Instances in other processes: started by Start-Balance -Detached, or by the balance executable
/// directly, controlled through their control segment.
/// </summary>
public sealed class CrossProcessTests : TwoBackendTests
{
    [Fact]
    public async Task Detached_instance_outlives_the_call_and_stops_with_Stop_Balance()
    {
        var instance = ps.Run("Start-Balance -Port $args[0] -Channel $args[1], '!', $args[2] -BindAddress 127.0.0.1 -Detached", port, one.Channel, two.Channel).ThrowOnError().Of("BalanceInstance")[0];
        var pid = instance.P<int>("ProcessId");
        Assert.NotEqual(Environment.ProcessId, pid);
        Assert.Equal((port, "Running", 2, 2), (instance.P<int>("Port"), instance.P<string>("State"), instance.P<int>("GroupCount"), instance.P<int>("ChannelCount")));
        using var process = Process.GetProcessById(pid);

        Assert.Equal("one", await LoopbackClient.GreetingAsync(port));
        ps.Run("Disable-BalanceChannel -Port $args[0] -Index 0", port).ThrowOnError();
        Assert.Equal("two", await LoopbackClient.GreetingAsync(port));

        ps.Run("Get-Balance -Port $args[0] | Stop-Balance -Confirm:$false", port).ThrowOnError();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.GetBalanceCommand"], ps.Run("Get-Balance -Port $args[0]", port).ErrorIds);
    }

    [Fact]
    public async Task Detached_instance_runs_the_Workers_asked_for()
    {
        var instance = ps.Run("Start-Balance -Port $args[0] -Channel $args[1] -BindAddress 127.0.0.1 -Workers 2 -Detached", port, one.Channel).ThrowOnError().Of("BalanceInstance")[0];
        Assert.Equal(2, instance.P<int>("Workers"));
        Assert.Equal("one", await LoopbackClient.GreetingAsync(port));
        ps.Run("Stop-Balance -Port $args[0] -Timeout 10 -Confirm:$false", port).ThrowOnError();
    }

    [Fact]
    public void Detached_instance_from_groups_keeps_the_group_types()
    {
        ps.Run("$null = Start-Balance -Port $args[0] -Group (New-BalanceGroup $args[1], $args[2] -Type Hash) -BindAddress 127.0.0.1 -ConnectTimeout 2 -Detached", port, one.Channel, two.Channel).ThrowOnError();
        var group = ps.Run("Get-BalanceGroup -Port $args[0]", port).ThrowOnError().Single;
        Assert.Equal(("Hash", 2), (group.P<string>("Type"), group.P<int>("ChannelCount")));
        Assert.Equal(TimeSpan.FromSeconds(2), ps.Run("Get-Balance -Port $args[0]", port).ThrowOnError().Single.P<TimeSpan>("ConnectTimeout"));
        ps.Run("Stop-Balance -Port $args[0] -Timeout 10 -Confirm:$false", port).ThrowOnError();
    }

    [Fact]
    public void Detached_start_failure_is_reported_with_the_process_message()
    {
        var r = ps.Run("Start-Balance -Port $args[0] -Channel 'no-such-host.invalid:80' -Detached", port);
        Assert.Equal(["DetachedStartFailed,Balance.PowerShell.StartBalanceCommand"], r.ErrorIds);
        Assert.Contains("no-such-host.invalid", r.Errors[0].Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instance_started_by_the_balance_executable_is_controlled_by_the_cmdlets()
    {
        var dotnet = Environment.ProcessPath!;
        var start = new ProcessStartInfo(dotnet) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(RepoPaths.ModuleFolder, "balance.dll"), "-f", "-b", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), one.Channel, two.Channel })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (ps.Run("Get-Balance -Port $args[0]", port).Output.Count == 0 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }

            var instance = ps.Run("Get-Balance -Port $args[0]", port).ThrowOnError().Single;
            Assert.Equal(process.Id, instance.P<int>("ProcessId"));

            ps.Run("Set-BalanceGroup -Port $args[0] -Group 0 -Type RoundRobin; Disable-BalanceChannel -Port $args[0] -Index 1", port).ThrowOnError();
            Assert.Equal(new[] { "one", "one" }, new[] { await LoopbackClient.GreetingAsync(port), await LoopbackClient.GreetingAsync(port) });
            var show = ps.Run("Invoke-BalanceCommand 'show' -Port $args[0]", port).ThrowOnError().Strings;
            Assert.Equal(3, show.Count);
            Assert.Contains(" dis ", show[2], StringComparison.Ordinal);

            ps.Run("Stop-Balance -Port $args[0] -Confirm:$false", port).ThrowOnError();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)));
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
