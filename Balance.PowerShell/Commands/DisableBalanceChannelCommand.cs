using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Disable-BalanceChannel: stops new sessions going to a channel; live sessions continue (the
/// shell's <c>disable</c>). With -Drain the channel drains instead (the shell's <c>drain</c>);
/// -Wait then waits until its live connections reach 0 and disables it, or fails at -Timeout
/// saying how many are left (-Force closes them there). Piped channels of several instances are
/// all drained first and then waited for together, so the wait is the slowest one's, not the sum.
/// </summary>
[Cmdlet(VerbsLifecycle.Disable, "BalanceChannel", SupportsShouldProcess = true, DefaultParameterSetName = IdentitySet)]
[OutputType(typeof(BalanceChannel))]
public sealed class DisableBalanceChannelCommand : ChannelCommandBase, IDisposable
{
    private readonly DrainWatch watch = new();
    private readonly CancellationTokenSource stop = new();

    /// <summary>Drain: no new sessions, the live ones continue.</summary>
    [Parameter]
    public SwitchParameter Drain { get; set; }

    /// <summary>With -Drain: wait until the live connections reach 0, then disable the channel.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>Seconds -Wait waits (default 30).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public double Timeout { get; set; } = 30;

    /// <summary>With -Wait: close the sessions still open at the timeout instead of failing.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    private protected override string Action => Drain ? "Drain" : "Disable";

    private protected override bool DefersOutput => Wait;

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        if ((Wait || Force || MyInvocation.BoundParameters.ContainsKey(nameof(Timeout))) && !Drain)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("-Wait, -Timeout and -Force belong to a drain: add -Drain (Disable-BalanceChannel -Drain -Wait)"),
                ErrorIds.InvalidArgument,
                ErrorCategory.InvalidArgument,
                null));
        }

        if (Force && !Wait)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("-Force closes what is left when -Wait times out: add -Wait"),
                ErrorIds.InvalidArgument,
                ErrorCategory.InvalidArgument,
                null));
        }
    }

    private protected override void Change(ControlClient client, int group, int index)
    {
        if (!Drain)
        {
            if (client.Disable(group, index) == ChannelChange.Unchanged)
            {
                WriteVerbose(string.Format(CultureInfo.InvariantCulture, "{0} was already disabled", DescribeChannel(client, group, index)));
            }

            return;
        }

        if (client.GetChannel(group, index).AdminState != ChannelAdminState.Disabled)
        {
            client.Drain(group, index);
        }

        if (Wait)
        {
            watch.Add(client, group, index);
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (!watch.IsEmpty)
        {
            watch.Finish(this, TimeSpan.FromSeconds(Timeout), Force, disable: true, PassThru, stop.Token, DrainWait.DrainFix);
        }
    }

    /// <inheritdoc/>
    protected override void StopProcessing() => stop.Cancel();

    /// <summary>Lets go of the instances waited for (PowerShell also calls it when the pipeline is stopped).</summary>
    public void Dispose()
    {
        watch.Dispose();
        stop.Dispose();
    }
}
