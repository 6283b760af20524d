using System.Diagnostics;
using System.Management.Automation;

namespace BalancePowerShellTests;

/// <summary>Restart-Balance: a job of the session is replaced in process (the old job completes), any other instance by a detached takeover.</summary>
public sealed class RestartCmdletTests : TwoBackendTests
{
    [Fact]
    public async Task A_job_of_the_session_is_replaced_by_a_new_job_and_the_old_one_completes_with_the_layout_kept()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // takeover needs Linux
        }

        var old = (Job)ps.Run("Start-Balance -Port $args[0] -Channel $args[1], $args[2] -BindAddress 127.0.0.1 -Workers 2", port, one.Channel, two.Channel).ThrowOnError().Single.BaseObject;
        ps.Run("Disable-BalanceChannel -Port $args[0] -Index 0", port).ThrowOnError();
        var replacement = (Job)ps.Run("Get-Balance -Port $args[0] | Restart-Balance -Workers 3 -PassThru", port).ThrowOnError().Single.BaseObject;
        Assert.NotEqual(old.InstanceId, replacement.InstanceId);
        Assert.Equal(JobState.Running, replacement.JobStateInfo.State);
        Assert.Contains("--takeover", replacement.Command, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => old.JobStateInfo.State == JobState.Completed, "the old job completed");

        Assert.Equal("two", await LoopbackClient.GreetingAsync(port));
        var instance = ps.Run("Get-Balance -Port $args[0]", port).ThrowOnError().Single;
        Assert.Equal(3, instance.P<int>("Workers"));
        var channels = ps.Run("Get-BalanceChannel -Port $args[0]", port).ThrowOnError().Of("BalanceChannel");
        Assert.Equal(["Disabled", "Enabled"], channels.Select(c => c.P<object>("AdminState").ToString()));
        Assert.Equal(2, ps.Run("Get-Job | Where-Object PSJobTypeName -eq BalanceJob").ThrowOnError().Output.Count);
    }

    [Fact]
    public async Task A_detached_instance_is_replaced_by_a_new_process_and_the_old_process_exits()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // takeover needs Linux
        }

        var started = ps.Run("Start-Balance -Port $args[0] -Channel $args[1] -BindAddress 127.0.0.1 -Detached", port, one.Channel).ThrowOnError().Of("BalanceInstance")[0];
        using var oldProcess = Process.GetProcessById(started.P<int>("ProcessId"));
        var replaced = ps.Run("Restart-Balance -Port $args[0] -BindAddress 127.0.0.1 -PassThru", port).ThrowOnError().Of("BalanceInstance")[0];
        Assert.NotEqual(oldProcess.Id, replaced.P<int>("ProcessId"));
        Assert.NotEqual(Environment.ProcessId, replaced.P<int>("ProcessId"));
        Assert.True(oldProcess.WaitForExit(TimeSpan.FromSeconds(20)), "the old process did not exit");
        Assert.Equal("one", await LoopbackClient.GreetingAsync(port));
    }

    [Fact]
    public async Task Check_texts_the_segment_does_not_record_are_asked_for_and_carried_by_the_replacement()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // takeover needs Linux
        }

        // The back-ends greet with their names: "o" is in both, "x" in neither.
        var old = (Job)ps.Run("Start-Balance -Port $args[0] -Channel $args[1], $args[2] -BindAddress 127.0.0.1 -CheckInterval 0.2 -CheckSend ping -CheckExpect o", port, one.Channel, two.Channel).ThrowOnError().Single.BaseObject;
        var refused = ps.Run("Restart-Balance -Port $args[0]", port);
        Assert.Equal(["InvalidConfiguration,Balance.PowerShell.RestartBalanceCommand"], refused.ErrorIds);
        Assert.Contains("give it again with -CheckSend", refused.Errors[0].ToString(), StringComparison.Ordinal);
        Assert.Equal(JobState.Running, old.JobStateInfo.State);

        var replacement = (Job)ps.Run("Restart-Balance -Port $args[0] -CheckSend ping -CheckExpect x -PassThru", port).ThrowOnError().Single.BaseObject;
        Assert.Contains("--check-send ping --check-expect x", replacement.Command, StringComparison.Ordinal);
        await Eventually.TrueAsync(
            () => ps.Run("Get-BalanceChannel -Port $args[0] -Health Down", port).ThrowOnError().Of("BalanceChannel").Count == 2,
            "the replacement's checks, expecting a text no back-end sends, took both channels down");
    }

    [Fact]
    public async Task A_detached_replacement_gets_the_check_texts_control_characters_included()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // takeover needs Linux
        }

        var started = ps.Run("Start-Balance -Port $args[0] -Channel $args[1], $args[2] -BindAddress 127.0.0.1 -Detached -CheckInterval 0.2 -CheckSend ping -CheckExpect o", port, one.Channel, two.Channel).ThrowOnError().Of("BalanceInstance")[0];
        using var oldProcess = Process.GetProcessById(started.P<int>("ProcessId"));
        var replaced = ps.Run("Restart-Balance -Port $args[0] -BindAddress 127.0.0.1 -CheckSend $args[1] -CheckExpect $args[2] -PassThru", port, "ping\r\n", "wo\n").ThrowOnError().Of("BalanceInstance")[0];
        Assert.NotEqual(oldProcess.Id, replaced.P<int>("ProcessId"));
        Assert.True(oldProcess.WaitForExit(TimeSpan.FromSeconds(20)), "the old process did not exit");

        // Expecting "wo" and a line feed (escaped on the executable's command line and read back),
        // the new process's checks pass on "two\n" only: one channel down, one up.
        await Eventually.TrueAsync(
            () => ps.Run("Get-BalanceChannel -Port $args[0] -Health Down", port).ThrowOnError().Of("BalanceChannel").Count == 1
                && ps.Run("Get-BalanceChannel -Port $args[0] -Health Up", port).ThrowOnError().Of("BalanceChannel").Count == 1,
            "the replacement's checks ran with the new texts");
        Assert.Equal("two", await LoopbackClient.GreetingAsync(port));
    }

    [Fact]
    public void Failures_are_errors_with_stable_ids_and_WhatIf_changes_nothing()
    {
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.RestartBalanceCommand"], ps.Run("Restart-Balance -Port $args[0]", port).ErrorIds);
        var job = (Job)ps.Run("Start-Balance -Port $args[0] -Channel $args[1] -BindAddress 127.0.0.1", port, one.Channel).ThrowOnError().Single.BaseObject;
        Assert.Equal(["InvalidConfiguration,Balance.PowerShell.RestartBalanceCommand"], ps.Run("Restart-Balance -Port $args[0] -MetricsEndpoint nonsense", port).ErrorIds);
        Assert.Equal(["InvalidConfiguration,Balance.PowerShell.RestartBalanceCommand"], ps.Run("Restart-Balance -Port $args[0] -CheckSend ping", port).ErrorIds); // no active checks
        Assert.Empty(ps.Run("Restart-Balance -Port $args[0] -WhatIf", port).ThrowOnError().Output);
        Assert.Equal(JobState.Running, job.JobStateInfo.State);
        Assert.Single(ps.Run("Get-Job | Where-Object PSJobTypeName -eq BalanceJob").ThrowOnError().Output);
    }
}
