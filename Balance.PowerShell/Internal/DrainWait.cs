using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// The end of a drain shared by Disable-BalanceChannel -Drain -Wait, Wait-BalanceChannel and
/// Stop-Balance -Drain: wait until the channels' live connections reach 0 on every instance at
/// once (one deadline for all, so ten nodes take as long as the slowest, not the sum), then
/// optionally disable them; at the timeout either close what is left (-Force) or write a
/// DrainTimeout error per instance that says how many are left, the others carrying on.
/// </summary>
internal static class DrainWait
{
    /// <summary>The engine counts sessions in the segment; polling it is the only way to see them end.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    /// <summary>What a DrainTimeout tells the user to do, for the cmdlets that drain.</summary>
    public const string DrainFix = "it stays draining: wait longer with -Timeout, or add -Force to close them";

    /// <summary>How long -Force waits for the closed sessions to be counted out.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    /// <summary>True when the channels are empty (drained, or closed with -Force); then they are disabled.</summary>
    public static bool Finish(Cmdlet cmdlet, ControlClient client, IReadOnlyCollection<(int Group, int Channel)> channels, TimeSpan timeout, bool force, string what)
    {
        var target = new DrainTarget(client, what);
        target.Channels.AddRange(channels);
        return Finish(cmdlet, [target], timeout, force, disable: true, CancellationToken.None).Count == 1;
    }

    /// <summary>
    /// Waits for every target at once and returns those that emptied (disabled first when
    /// <paramref name="disable"/>); each of the others has its DrainTimeout error written.
    /// </summary>
    public static IReadOnlyList<DrainTarget> Finish(Cmdlet cmdlet, IReadOnlyList<DrainTarget> targets, TimeSpan timeout, bool force, bool disable, CancellationToken cancel, string fix = DrainFix)
    {
        foreach (var target in targets)
        {
            cmdlet.WriteVerbose(string.Format(CultureInfo.InvariantCulture, "waiting up to {0:0.###} s for the live connections of {1} to finish", timeout.TotalSeconds, target.What));
        }

        WaitAll(targets, timeout, cancel);
        var full = targets.Where(t => t.Left > 0).ToArray();
        if (force && full.Length > 0 && !cancel.IsCancellationRequested)
        {
            foreach (var target in full)
            {
                cmdlet.WriteVerbose(string.Format(CultureInfo.InvariantCulture, "closing the {0} connection(s) of {1} left at the timeout", target.Left, target.What));
                foreach (var (group, channel) in target.Channels)
                {
                    target.Client.CloseSessions(group, channel);
                }
            }

            WaitAll(full, CloseWait, cancel);
        }

        var done = new List<DrainTarget>();
        foreach (var target in targets)
        {
            if (target.Left > 0)
            {
                WriteTimeout(cmdlet, target, timeout, fix);
                continue;
            }

            if (disable)
            {
                foreach (var (group, channel) in target.Channels)
                {
                    target.Client.Disable(group, channel);
                }
            }

            done.Add(target);
        }

        return done;
    }

    /// <summary>Polls every target until all are empty, the deadline passes or the user stops the command.</summary>
    private static void WaitAll(IReadOnlyList<DrainTarget> targets, TimeSpan timeout, CancellationToken cancel)
    {
        var deadline = Environment.TickCount64 + (long)Math.Max(0, timeout.TotalMilliseconds);
        while (true)
        {
            var pending = 0;
            foreach (var target in targets)
            {
                target.Left = target.Client.WaitForDrain(target.Channels, TimeSpan.Zero);
                pending += target.Left > 0 ? 1 : 0;
            }

            if (pending == 0 || Environment.TickCount64 >= deadline || cancel.IsCancellationRequested)
            {
                return;
            }

            cancel.WaitHandle.WaitOne(Poll);
        }
    }

    private static void WriteTimeout(Cmdlet cmdlet, DrainTarget target, TimeSpan timeout, string fix)
    {
        var message = string.Format(
            CultureInfo.InvariantCulture,
            "{0} connection(s) of {1} still open after {2:0.###} s of draining; {3}",
            target.Left,
            target.What,
            timeout.TotalSeconds,
            fix);
        cmdlet.WriteError(new ErrorRecord(new TimeoutException(message), ErrorIds.DrainTimeout, ErrorCategory.OperationTimeout, target.What));
    }
}
