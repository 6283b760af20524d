using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;

namespace BalancePowerShellTests;

/// <summary>The engine as a job of the session: Get-Job, Receive-Job, Stop-Job, Remove-Job, Wait/AutoRemove.</summary>
public sealed class BalanceJobTests : TwoBackendTests
{
    [Fact]
    public async Task Start_Balance_returns_a_running_job_that_every_job_filter_finds()
    {
        var job = ps.Run("Start-Balance -Port $args[0] -Channel $args[1], $args[2] -BindAddress 127.0.0.1 -Name web", port, one.Channel, two.Channel).ThrowOnError().Single;
        Assert.Equal("Balance.PowerShell.BalanceJob", job.BaseObject.GetType().FullName);
        var j = (Job)job.BaseObject;
        Assert.Equal(("BalanceJob", "127.0.0.1:" + port, JobState.Running), (j.PSJobTypeName, j.Location, j.JobStateInfo.State));
        Assert.StartsWith("balance -b 127.0.0.1", j.Command, StringComparison.Ordinal);

        foreach (var filter in new[] { "Get-Job -Name web", "Get-Job -Id $args[0].Id", "Get-Job -State Running", "Get-Job -InstanceId $args[0].InstanceId", "Get-Job | Where-Object PSJobTypeName -eq BalanceJob" })
        {
            Assert.Equal(j.InstanceId, ps.Run(filter, j).ThrowOnError().Single.P<Guid>("InstanceId"));
        }

        Assert.Equal(new[] { "one", "two", "one" }, new[] { await LoopbackClient.GreetingAsync(port), await LoopbackClient.GreetingAsync(port), await LoopbackClient.GreetingAsync(port) });
        var channels = ps.Run("$args[0] | Get-BalanceChannel", j).ThrowOnError().Of("BalanceChannel");
        Assert.Equal([2L, 1L], channels.Select(c => c.P<long>("TotalConnections")));
    }

    [Fact]
    public async Task Start_Balance_Workers_runs_that_many_workers_and_the_instance_shows_them()
    {
        var job = (Job)ps.Run("Start-Balance -Port $args[0] -Channel $args[1], $args[2] -BindAddress 127.0.0.1 -Workers 3", port, one.Channel, two.Channel).ThrowOnError().Single.BaseObject;
        Assert.Contains(" --workers 3 ", job.Command, StringComparison.Ordinal);
        Assert.Equal(3, ps.Run("Get-Balance -Port $args[0]", port).ThrowOnError().Single.P<int>("Workers"));
        Assert.Equal("one", await LoopbackClient.GreetingAsync(port));
    }

    [Fact]
    public void Start_Balance_without_Workers_runs_one_per_CPU()
    {
        var job = (Job)ps.Run("Start-Balance -Port $args[0] -Channel $args[1] -BindAddress 127.0.0.1", port, one.Channel).ThrowOnError().Single.BaseObject;
        Assert.DoesNotContain("--workers", job.Command, StringComparison.Ordinal);
        Assert.Equal(Environment.ProcessorCount, ps.Run("Get-Balance -Port $args[0]", port).ThrowOnError().Single.P<int>("Workers"));
    }

    [Fact]
    public async Task Start_Balance_MetricsEndpoint_serves_the_job_instance_figures_until_it_stops()
    {
        var metricsPort = FreePort.Next();
        var job = (Job)ps.Run("Start-Balance -Port $args[0] -Channel $args[1] -BindAddress 127.0.0.1 -MetricsEndpoint $args[2]", port, one.Channel, "127.0.0.1:" + metricsPort).ThrowOnError().Single.BaseObject;
        Assert.Contains("--metrics 127.0.0.1:" + metricsPort, job.Command, StringComparison.Ordinal);
        Assert.Equal("one", await LoopbackClient.GreetingAsync(port));
        await Task.Delay(600); // one rendering interval

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.Contains($"balance_channel_connections_total{{endpoint=\"127.0.0.1:{port}\",group=\"0\",channel=\"0\",destination=\"{one.Channel}\"}} 1\n", text, StringComparison.Ordinal);

        var bad = ps.Run("Start-Balance -Port $args[0] -Channel $args[1] -MetricsEndpoint localhost", FreePort.Next(), one.Channel);
        Assert.Equal(["InvalidConfiguration,Balance.PowerShell.StartBalanceCommand"], bad.ErrorIds);

        ps.Run("Stop-Job -Job $args[0]", job).ThrowOnError();
        using var probe = new TcpClient();
        Assert.Throws<SocketException>(() => probe.Connect(IPAddress.Loopback, metricsPort));
    }

    [Fact]
    public async Task Start_Balance_takes_groups_from_New_BalanceGroup()
    {
        ps.Run(
            "$null = Start-Balance -Port $args[0] -BindAddress 127.0.0.1 -Group (New-BalanceGroup $args[1] -Type Hash), (New-BalanceGroup $args[2]) -HashFailover",
            port,
            one.Channel,
            two.Channel).ThrowOnError();
        var groups = ps.Run("Get-BalanceGroup -Port $args[0]", port).ThrowOnError().Of("BalanceGroup");
        Assert.Equal(["Hash", "RoundRobin"], groups.Select(g => g.P<string>("Type")));
        Assert.True(ps.Run("Get-Balance -Port $args[0]", port).ThrowOnError().Single.P<bool>("HashFailover"));
        Assert.Equal("one", await LoopbackClient.GreetingAsync(port));
        ps.Run("Disable-BalanceChannel -Port $args[0] -Group 0 -Index 0", port).ThrowOnError();
        Assert.Equal("two", await LoopbackClient.GreetingAsync(port));
    }

    [Fact]
    public async Task Start_Balance_takes_new_policies_and_weights_and_writes_them_back_as_a_command_line()
    {
        var job = (Job)ps.Run(
            "Start-Balance -Port $args[0] -BindAddress 127.0.0.1 -Group (New-BalanceGroup $args[1], $args[2] -Type wrr), (New-BalanceGroup $args[2] -Type Maglev)",
            port,
            one.Channel + ":0:3",
            two.Channel).ThrowOnError().Single.BaseObject;
        Assert.Contains($" --policy 0=wrr --policy 1=maglev {port} {one.Channel}:0:3 {two.Channel} ! {two.Channel}", job.Command, StringComparison.Ordinal);
        var groups = ps.Run("Get-BalanceGroup -Port $args[0]", port).ThrowOnError().Of("BalanceGroup");
        Assert.Equal(["WeightedRoundRobin", "Maglev"], groups.Select(g => g.P<string>("Policy")));
        var weights = ps.Run("Get-BalanceChannel -Port $args[0]", port).ThrowOnError().Of("BalanceChannel").Select(c => c.P<int>("Weight"));
        Assert.Equal([3, 1, 1], weights);
        var names = new List<string?>();
        for (var i = 0; i < 4; i++)
        {
            names.Add(await LoopbackClient.GreetingAsync(port));
        }

        Assert.Equal(["one", "one", "two", "one"], names);
    }

    [Fact]
    public async Task Receive_Job_returns_engine_events_as_objects()
    {
        var dead = FreePort.Next();
        var job = (Job)ps.Run("Start-Balance $args[0] 127.0.0.1:$($args[1]), $args[2] -BindAddress 127.0.0.1 -AutoDisable", port, dead, one.Channel).ThrowOnError().Single.BaseObject;
        Assert.Equal("one", await LoopbackClient.GreetingAsync(port));
        var events = WaitFor(() => ps.Run("Receive-Job -Job $args[0]", job).ThrowOnError().Of("BalanceEngineEvent"), e => e.Any(x => x.P<string>("Kind") == "AutoDisabled"));
        Assert.Contains(events, e => e.P<string>("Kind") == "AutoDisabled" && e.P<int>("Channel") == 0 && e.P<int>("Port") == port);
        Assert.False(ps.Run("Get-BalanceChannel -Port $args[0] -Index 0", port).ThrowOnError().Single.P<bool>("Enabled"));
        Assert.Empty(ps.Run("Receive-Job -Job $args[0]", job).ThrowOnError().Output);
        Assert.False(job.HasMoreData);
    }

    [Fact]
    public void Stop_Job_returns_within_a_bound_even_mid_transfer()
    {
        using var stream = TestBackend.Start("stream", BackendMode.Stream);
        var job = (Job)ps.Run("Start-Balance $args[0] $args[1] -BindAddress 127.0.0.1", port, stream.Channel).ThrowOnError().Single.BaseObject;
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        var buffer = new byte[1024];
        Assert.True(client.GetStream().Read(buffer) > 0);
        WaitFor(() => ps.Run("Get-BalanceChannel -Port $args[0]", port).ThrowOnError().Single.P<long>("BytesReceived"), b => b > 100_000);

        var watch = Stopwatch.StartNew();
        ps.Run("Stop-Job -Job $args[0]", job).ThrowOnError();
        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"Stop-Job took {watch.Elapsed}");
        Assert.Equal(JobState.Stopped, job.JobStateInfo.State);
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.GetBalanceCommand"], ps.Run("Get-Balance -Port $args[0]", port).ErrorIds);

        // Idempotent, also through the Job2 API.
        ps.Run("Stop-Job -Job $args[0]; $args[0].StopJob(); $args[0].StopJob($true, 'again')", job).ThrowOnError();
        Assert.Equal(JobState.Stopped, job.JobStateInfo.State);
    }

    [Fact]
    public void StopJobAsync_raises_StopJobCompleted_after_the_state_is_Stopped()
    {
        var job = (Job2)ps.Run("Start-Balance $args[0] $args[1] -BindAddress 127.0.0.1", port, one.Channel).ThrowOnError().Single.BaseObject;
        using var completed = new ManualResetEventSlim();
        JobState seen = JobState.NotStarted;
        job.StopJobCompleted += (_, e) =>
        {
            seen = job.JobStateInfo.State;
            completed.Set();
        };
        job.StopJobAsync();
        Assert.True(completed.Wait(TimeSpan.FromSeconds(15)));
        Assert.Equal(JobState.Stopped, seen);
        Assert.Throws<PSNotSupportedException>(() => job.SuspendJob());
    }

    [Fact]
    public void Remove_Job_Force_stops_and_removes_a_running_job()
    {
        ps.Run("$null = Start-Balance $args[0] $args[1] -BindAddress 127.0.0.1 -Name gone", port, one.Channel).ThrowOnError();
        ps.Run("Get-Job -Name gone | Remove-Job -Force").ThrowOnError();
        Assert.Empty(ps.Run("Get-Job").ThrowOnError().Output);
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.GetBalanceCommand"], ps.Run("Get-Balance -Port $args[0]", port).ErrorIds);
    }

    [Fact]
    public void Stop_Balance_completes_the_job_and_Receive_Job_Wait_AutoRemoveJob_removes_it()
    {
        ps.Run("$j = Start-Balance $args[0] $args[1] -BindAddress 127.0.0.1 -Name auto", port, one.Channel).ThrowOnError();
        ps.Run("Stop-Balance -Port $args[0] -Confirm:$false", port).ThrowOnError();
        var received = ps.Run("Receive-Job -Job $j -Wait -AutoRemoveJob; $j.JobStateInfo.State.ToString()").ThrowOnError();
        Assert.Equal("Completed", received.Output[^1].BaseObject);
        Assert.Contains(received.Output.SkipLast(1), e => e.P<string>("Kind") == "Started");
        Assert.Empty(ps.Run("Get-Job").ThrowOnError().Output);
    }

    [Fact]
    public void A_served_endpoint_is_AlreadyRunning()
    {
        ps.Run("$null = Start-Balance $args[0] $args[1] -BindAddress 127.0.0.1", port, one.Channel).ThrowOnError();
        var r = ps.Run("Start-Balance $args[0] $args[1] -BindAddress localhost", port, two.Channel);
        Assert.True(r.ErrorIds.SequenceEqual(["AlreadyRunning,Balance.PowerShell.StartBalanceCommand"]), string.Join(" | ", r.ErrorIds) + " " + r.Terminating?.Message);
        var p = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"the Balance instance on 127.0.0.1:{p} (process {Environment.ProcessId}) already holds port {p}; stop it first (Stop-Balance -Port {p} -BindAddress 127.0.0.1)", r.Errors[0].Exception.Message, StringComparison.Ordinal);
    }

    private static T WaitFor<T>(Func<T> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var accumulated = read();
        while (!done(accumulated) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
            var next = read();
            accumulated = next is IEnumerable<PSObject> more && accumulated is IEnumerable<PSObject> sofar ? (T)(object)sofar.Concat(more).ToList() : next;
        }

        Assert.True(done(accumulated), "condition not reached in 10 s");
        return accumulated;
    }
}
