using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Stop-Balance: asks an instance to stop through its control segment (the shell's <c>kill</c>, but
/// graceful) and waits until it has released the endpoint. Works for instances started by
/// Start-Balance, Start-Balance -Detached or the balance executable. With -Drain, every piped
/// instance drains first and they are waited for together, then each one that emptied stops.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Balance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(BalanceInstance))]
public sealed class StopBalanceCommand : InstanceCmdlet, IDisposable
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

    private readonly List<(DrainTarget Target, InstanceInfo Info)> draining = [];
    private readonly CancellationTokenSource stop = new();

    /// <summary>Seconds to wait for the stop; default: the instance's grace period plus 5 seconds (with -Drain: for the drain, default 30).</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int Timeout { get; set; }

    /// <summary>Drain every channel first: no new sessions, and the stop waits (up to -Timeout) until the live ones are over.</summary>
    [Parameter]
    public SwitchParameter Drain { get; set; }

    /// <summary>With -Drain: close the sessions still open at the timeout and stop anyway.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Writes the instance in its final state (Stopped, its last counters) to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var client = TryOpen(Port, BindAddress);
        if (client is null)
        {
            return;
        }

        var endpoint = ControlSegment.Endpoint(client.Name);
        if (!ShouldProcess(endpoint, "Stop the Balance instance"))
        {
            client.Dispose();
            return;
        }

        if (Drain)
        {
            try
            {
                // Kept open: the instance stops at the end, once every piped instance has drained.
                draining.Add((DrainAll(client, endpoint), client.GetInstance()));
            }
            catch (Exception e) when (IsExpected(e))
            {
                client.Dispose();
                WriteFailure(e, endpoint);
            }

            return;
        }

        using (client)
        {
            Kill(client, client.GetInstance(), endpoint);
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (draining.Count == 0)
        {
            return;
        }

        var timeout = TimeSpan.FromSeconds(MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Timeout : 30);
        foreach (var target in DrainWait.Finish(this, draining.Select(d => d.Target).ToArray(), timeout, Force, disable: true, stop.Token))
        {
            Kill(target.Client, draining.First(d => d.Target == target).Info, ControlSegment.Endpoint(target.Client.Name));
        }
    }

    /// <inheritdoc/>
    protected override void StopProcessing() => stop.Cancel();

    /// <summary>Lets go of the instances still held for the drain (PowerShell also calls it when the pipeline is stopped).</summary>
    public void Dispose()
    {
        foreach (var (target, _) in draining)
        {
            target.Client.Dispose();
        }

        draining.Clear();
        stop.Dispose();
    }

    private void Kill(ControlClient client, InstanceInfo info, string endpoint)
    {
        var before = new BalanceInstance(info);
        var wait = MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) && !Drain ? TimeSpan.FromSeconds(Timeout) : client.GracePeriod + Margin;
        if (!client.Kill(wait))
        {
            var message = string.Format(CultureInfo.InvariantCulture, "the Balance instance on {0} (process {1}) was still running {2:0} s after the stop request; wait longer with -Timeout or end process {1}", endpoint, before.ProcessId, wait.TotalSeconds);
            WriteError(new ErrorRecord(new TimeoutException(message), ErrorIds.StopFailed, ErrorCategory.OperationTimeout, before));
            return;
        }

        if (PassThru)
        {
            // The segment is gone with the engine, so the final state is the last reading, stopped now.
            WriteObject(new BalanceInstance(info with { State = EngineState.Stopped, Uptime = DateTimeOffset.Now - info.StartTime }));
        }
    }

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        if (Force && !Drain)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("-Force closes what a drain leaves at its timeout: add -Drain (Stop-Balance -Drain -Timeout 30 -Force)"),
                ErrorIds.InvalidArgument,
                ErrorCategory.InvalidArgument,
                null));
        }
    }

    /// <summary>Drains every channel; the wait for them comes at the end, for every piped instance at once.</summary>
    private static DrainTarget DrainAll(ControlClient client, string endpoint)
    {
        var target = new DrainTarget(client, "the Balance instance on " + endpoint);
        foreach (var group in client.GetGroups())
        {
            foreach (var channel in client.GetChannels(group.Group))
            {
                if (channel.AdminState != ChannelAdminState.Disabled)
                {
                    client.Drain(group.Group, channel.Index);
                }

                target.Channels.Add((group.Group, channel.Index));
            }
        }

        return target;
    }
}
