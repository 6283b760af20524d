using System.Diagnostics;
using Balance.Configuration;
using Balance.Control;

namespace BalancePowerShellTests;

/// <summary>
/// The cmdlets over several instances at once (docs/fleet.md): several ports, instances piped
/// into every cmdlet that takes one, one error not stopping the others, and one wait for all.
/// </summary>
public sealed class FleetCmdletTests : IDisposable
{
    private readonly FakeInstance a = FakeInstance.WithSampleChannels();
    private readonly FakeInstance b = FakeInstance.WithSampleChannels();
    private readonly PowerShellSession ps = new();

    public void Dispose()
    {
        ps.Dispose();
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public void Get_cmdlets_take_several_ports_and_keep_the_instances_apart()
    {
        var instances = ps.Run("Get-Balance -Port $args[0], $args[1]", a.Port, b.Port).ThrowOnError().Of("BalanceInstance");
        Assert.Equal([a.Port, b.Port], instances.Select(i => i.P<int>("Port")));
        var channels = ps.Run("Get-BalanceChannel -Port $args[0], $args[1] -Group 0 -Index 1", a.Port, b.Port).ThrowOnError().Of("BalanceChannel");
        Assert.Equal([a.Port, b.Port], channels.Select(c => c.P<int>("Port")));
        Assert.Equal(2, ps.Run("Get-BalanceGroup -Port $args[0], $args[1] -Group 1", a.Port, b.Port).ThrowOnError().Of("BalanceGroup").Count);
        Assert.Equal(2, ps.Run("Get-BalanceCounter -Port $args[0], $args[1] -Group 1", a.Port, b.Port).ThrowOnError().Of("BalanceCounter").Count);

        // A port with nothing on it is its own error; the others are still read.
        var missing = FreePort.Next();
        var r = ps.Run("Get-Balance -Port $args[0], $args[1], $args[2]", a.Port, missing, b.Port);
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.GetBalanceCommand"], r.ErrorIds);
        Assert.Equal([a.Port, b.Port], r.Of("BalanceInstance").Select(i => i.P<int>("Port")));
    }

    [Fact]
    public void Piped_instances_bind_to_every_cmdlet_that_takes_an_instance()
    {
        const string script = """
            $one = Get-Balance -Port $args[0]
            $one | Get-BalanceChannel -Group 1
            $one | Get-BalanceGroup -Group 1
            $one | Get-BalanceCounter -Group 1
            $one | Set-BalanceGroup -Group 1 -Type Maglev -PassThru
            $one | Add-BalanceChannel -Group 2 -Destination 127.0.0.1:9300 -PassThru
            $one | Invoke-BalanceCommand -Command 'group 2; show'
            $one | Stop-Balance -WhatIf -PassThru
            """;
        var r = ps.Run(script, a.Port).ThrowOnError();
        var types = r.Output.Select(o => o.BaseObject.GetType().Name).ToArray();
        Assert.Equal(["BalanceChannel", "BalanceGroup", "BalanceCounter", "BalanceGroup", "BalanceChannel"], types[..5]);
        Assert.Equal(GroupType.Maglev, a.Client.GetGroup(1).Type);
        Assert.Equal(9300, a.Client.GetChannel(2, 0).Port);
        Assert.Contains(r.Strings, s => s.Contains("9300", StringComparison.Ordinal));
        Assert.False(a.Killed);
        Assert.Equal(0, b.Client.GetGroup(2).ChannelCount);
    }

    [Fact]
    public void Piped_instances_drain_the_same_channel_everywhere_and_ShouldProcess_names_each_instance()
    {
        // -Verbose shows the ShouldProcess text that -WhatIf and -Confirm show through the host.
        var r = ps.Run("Get-Balance -Port $args[0], $args[1] | Disable-BalanceChannel -Group 0 -Index 1 -Drain -PassThru -Verbose 4>&1", a.Port, b.Port).ThrowOnError();
        var said = r.Output.Select(o => o.BaseObject).OfType<System.Management.Automation.VerboseRecord>().Select(v => v.Message).ToArray();
        Assert.Equal(2, said.Length);
        Assert.Contains($"\"Drain\" on target \"channel 1 of group 0 on 127.0.0.1:{a.Port}\"", said[0], StringComparison.Ordinal);
        Assert.Contains($"\"Drain\" on target \"channel 1 of group 0 on 127.0.0.1:{b.Port}\"", said[1], StringComparison.Ordinal);
        var drained = r.Output.Where(o => o.BaseObject is not System.Management.Automation.VerboseRecord).ToArray();
        Assert.Equal([a.Port, b.Port], drained.Select(c => c.P<int>("Port")));
        Assert.All([a, b], f => Assert.Equal(ChannelAdminState.Draining, f.Client.GetChannel(0, 1).AdminState));

        ps.Run("Get-Balance -Port $args[0], $args[1] | Enable-BalanceChannel -Group 0 -Index 1 -WhatIf", a.Port, b.Port).ThrowOnError();
        Assert.All([a, b], f => Assert.Equal(ChannelAdminState.Draining, f.Client.GetChannel(0, 1).AdminState));
    }

    [Fact]
    public void An_instance_that_fails_does_not_stop_the_others()
    {
        // Channel 3 of group 0 exists on b only; a gone instance comes first in the pipeline.
        b.AddChannel(0, "127.0.0.1", 9105);
        var r = ps.Run(
            "@([pscustomobject]@{ Port = $args[2] }) + @(Get-Balance -Port $args[0], $args[1]) | Disable-BalanceChannel -Group 0 -Index 3",
            a.Port,
            b.Port,
            FreePort.Next());
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.DisableBalanceChannelCommand", "ChannelNotFound,Balance.PowerShell.DisableBalanceChannelCommand"], r.ErrorIds);
        Assert.Null(r.Terminating);
        Assert.Equal(ChannelAdminState.Disabled, b.Client.GetChannel(0, 3).AdminState);
        Assert.Contains($"127.0.0.1:{a.Port}", r.Errors[1].TargetObject?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_BalanceCommand_runs_the_script_on_every_piped_instance_and_tags_each_reply()
    {
        // The gone instance in the middle fails alone; its neighbours still run the script.
        var r = ps.Run(
            "@(Get-Balance -Port $args[0]) + @([pscustomobject]@{ Port = $args[2] }) + @(Get-Balance -Port $args[1]) | Invoke-BalanceCommand -Command 'group 0; drain 1'",
            a.Port,
            b.Port,
            FreePort.Next());
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.InvokeBalanceCommandCommand"], r.ErrorIds);
        Assert.Equal(["channel 1 draining", "channel 1 draining"], r.Strings);
        Assert.Equal([a.Port, b.Port], r.Output.Select(o => o.P<int>("Port")));
        Assert.All(r.Output, o => Assert.Equal("127.0.0.1", o.P<string>("BindAddress")));
        Assert.All([a, b], f => Assert.Equal(ChannelAdminState.Draining, f.Client.GetChannel(0, 1).AdminState));

        // A script that ends its session (quit) on one instance does not skip the next.
        ps.Run("Get-Balance -Port $args[0], $args[1] | Invoke-BalanceCommand -Command 'group 0; enable 1; quit'", a.Port, b.Port).ThrowOnError();
        Assert.All([a, b], f => Assert.Equal(ChannelAdminState.Enabled, f.Client.GetChannel(0, 1).AdminState));
    }

    [Fact]
    public async Task Drain_Wait_drains_every_piped_instance_first_then_waits_for_all()
    {
        a.Segment.Channel(0, 1).Connections = 1;
        b.Segment.Channel(0, 1).Connections = 2;
        var watch = Stopwatch.StartNew();
        var run = Task.Run(() => ps.Run("Get-Balance -Port $args[0], $args[1] | Disable-BalanceChannel -Index 1 -Drain -Wait -Timeout 20 -PassThru", a.Port, b.Port));

        // Both drain before either is empty: the wait is one for all, not one instance after the other.
        await Eventually.TrueAsync(() => b.Client.GetChannel(0, 1).AdminState == ChannelAdminState.Draining, "b draining while a still has a session");
        Assert.Equal(ChannelAdminState.Draining, a.Client.GetChannel(0, 1).AdminState);
        b.Segment.Channel(0, 1).Connections = 0;
        await Task.Delay(300);
        Assert.False(run.IsCompleted, "returned while a still had a session");
        Assert.Equal(ChannelAdminState.Draining, b.Client.GetChannel(0, 1).AdminState);
        a.Segment.Channel(0, 1).Connections = 0;

        var r = (await run).ThrowOnError();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), "waited for the timeout instead of the sessions");
        var channels = r.Of("BalanceChannel");
        Assert.Equal([a.Port, b.Port], channels.Select(c => c.P<int>("Port")));
        Assert.All(channels, c => Assert.Equal(ChannelAdminState.Disabled, c.P<ChannelAdminState>("AdminState")));
    }

    [Fact]
    public async Task Stop_Drain_drains_every_piped_instance_first_and_stops_each_once_all_are_empty()
    {
        a.Segment.Channel(0, 0).Connections = 1;
        b.Segment.Channel(0, 2).Connections = 1;
        var run = Task.Run(() => ps.Run("Get-Balance -Port $args[0], $args[1] | Stop-Balance -Drain -Timeout 20 -Confirm:$false -PassThru", a.Port, b.Port));

        await Eventually.TrueAsync(() => b.Client.GetChannel(0, 2).AdminState == ChannelAdminState.Draining, "b draining while a still has a session");
        b.Segment.Channel(0, 2).Connections = 0;
        await Task.Delay(300);
        Assert.False(b.Killed, "b stopped before the wait for every instance ended");
        a.Segment.Channel(0, 0).Connections = 0;

        var stopped = (await run).ThrowOnError().Of("BalanceInstance");
        Assert.Equal([a.Port, b.Port], stopped.Select(i => i.P<int>("Port")));
        Assert.True(a.Killed && b.Killed);
    }

    [Fact]
    public void Stop_Drain_stops_the_instances_that_emptied_and_reports_the_one_that_did_not()
    {
        b.Segment.Channel(0, 1).Connections = 2;
        var r = ps.Run("Get-Balance -Port $args[0], $args[1] | Stop-Balance -Drain -Timeout 1 -Confirm:$false", a.Port, b.Port);
        Assert.Equal(["DrainTimeout,Balance.PowerShell.StopBalanceCommand"], r.ErrorIds);
        Assert.Contains($"2 connection(s) of the Balance instance on 127.0.0.1:{b.Port}", r.Errors[0].ToString(), StringComparison.Ordinal);
        Assert.True(a.Killed);
        Assert.False(b.Killed);
        Assert.Equal(ChannelAdminState.Draining, b.Client.GetChannel(0, 0).AdminState);
    }

    [Fact]
    public void Wait_BalanceChannel_reports_each_instance_left_at_the_timeout_and_passes_the_empty_ones_on()
    {
        a.Client.Drain(0, 1);
        b.Client.Drain(0, 1);
        b.Segment.Channel(0, 1).Connections = 3;
        var watch = Stopwatch.StartNew();
        var r = ps.Run("Get-BalanceChannel -Port $args[0], $args[1] -Group 0 -Index 1 | Wait-BalanceChannel -Timeout 0.5 -PassThru", a.Port, b.Port);
        Assert.Equal(["DrainTimeout,Balance.PowerShell.WaitBalanceChannelCommand"], r.ErrorIds);
        Assert.Contains($"3 connection(s) of channel 1 of group 0 on 127.0.0.1:{b.Port}", r.Errors[0].ToString(), StringComparison.Ordinal);
        Assert.Equal(a.Port, Assert.Single(r.Of("BalanceChannel")).P<int>("Port"));
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.5));

        // It changes nothing: b stays draining with its sessions.
        Assert.Equal(ChannelAdminState.Draining, b.Client.GetChannel(0, 1).AdminState);
        Assert.Equal(ChannelAdminState.Draining, a.Client.GetChannel(0, 1).AdminState);
    }

    [Fact]
    public void Wait_BalanceChannel_warns_about_a_channel_that_still_takes_clients()
    {
        var r = ps.Run("Wait-BalanceChannel -Port $args[0] -Index 0, 2 -Timeout 1", a.Port).ThrowOnError();
        Assert.Equal(2, r.Warnings.Count);
        Assert.Contains($"channel 0 of group 0 on 127.0.0.1:{a.Port} is enabled", r.Warnings[0], StringComparison.Ordinal);
    }
}
