using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// The end of a drain shared by Disable-BalanceChannel -Drain -Wait and Stop-Balance -Drain: wait
/// until the channels' live connections reach 0 (then disable them), or at the timeout either
/// close what is left (-Force) or write a DrainTimeout error that says how many are left.
/// </summary>
internal static class DrainWait
{
    /// <summary>True when the channels are empty (drained, or closed with -Force).</summary>
    public static bool Finish(Cmdlet cmdlet, ControlClient client, IReadOnlyCollection<(int Group, int Channel)> channels, TimeSpan timeout, bool force, string what)
    {
        cmdlet.WriteVerbose(string.Format(CultureInfo.InvariantCulture, "waiting up to {0:0.###} s for the live connections of {1} to finish", timeout.TotalSeconds, what));
        var left = client.WaitForDrain(channels, timeout);
        if (left > 0 && force)
        {
            foreach (var (group, channel) in channels)
            {
                client.CloseSessions(group, channel);
            }

            cmdlet.WriteVerbose(string.Format(CultureInfo.InvariantCulture, "closing the {0} connection(s) of {1} left at the timeout", left, what));
            left = client.WaitForDrain(channels, TimeSpan.FromSeconds(5));
        }

        if (left > 0)
        {
            var message = string.Format(
                CultureInfo.InvariantCulture,
                "{0} connection(s) of {1} still open after {2:0.###} s of draining; it stays draining: wait longer with -Timeout, or add -Force to close them",
                left,
                what,
                timeout.TotalSeconds);
            cmdlet.WriteError(new ErrorRecord(new TimeoutException(message), ErrorIds.DrainTimeout, ErrorCategory.OperationTimeout, what));
            return false;
        }

        foreach (var (group, channel) in channels)
        {
            client.Disable(group, channel);
        }

        return true;
    }
}
