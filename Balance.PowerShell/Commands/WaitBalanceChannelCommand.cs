using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Wait-BalanceChannel: waits until every given channel, on every instance, has no live
/// connection left (a drain's end), or fails at -Timeout with a DrainTimeout error per instance
/// saying how many are left. It changes nothing, so it fits between a drain and whatever follows
/// it: <c>... | Disable-BalanceChannel -Drain -PassThru | Wait-BalanceChannel -PassThru | ...</c>.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "BalanceChannel", DefaultParameterSetName = IdentitySet)]
[OutputType(typeof(BalanceChannel))]
public sealed class WaitBalanceChannelCommand : ChannelCommandBase, IDisposable
{
    private const string Fix = "wait longer with -Timeout, or close them with Disable-BalanceChannel -Drain -Wait -Force";

    private readonly DrainWatch watch = new();
    private readonly CancellationTokenSource stop = new();

    /// <summary>Seconds to wait for all the channels together (default 30).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public double Timeout { get; set; } = 30;

    private protected override string Action => "Wait for the live connections to finish";

    private protected override bool DefersOutput => true;

    private protected override void Change(ControlClient client, int group, int index)
    {
        if (client.GetChannel(group, index).AdminState == ChannelAdminState.Enabled)
        {
            WriteWarning(string.Format(CultureInfo.InvariantCulture, "{0} is enabled and still takes new connections: drain it first (Disable-BalanceChannel -Drain)", DescribeChannel(client, group, index)));
        }

        watch.Add(client, group, index);
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        if (!watch.IsEmpty)
        {
            watch.Finish(this, TimeSpan.FromSeconds(Timeout), force: false, disable: false, PassThru, stop.Token, Fix);
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
