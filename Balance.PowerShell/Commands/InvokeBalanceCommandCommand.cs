using System.Globalization;
using System.Management.Automation;
using Balance.Control;
using Balance.Shell;

namespace Balance.PowerShell;

/// <summary>
/// Invoke-BalanceCommand: runs commands of the original interactive shell (<c>show</c>,
/// <c>group 1; disable 0</c>, <c>mrtg-bytes 0 0</c>...) against an instance and writes their
/// replies as strings. One session per call, so <c>group</c> carries over to later commands.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "BalanceCommand", SupportsShouldProcess = true, HelpUri = HelpUriBase + "Invoke-BalanceCommand.md")]
[OutputType(typeof(string))]
public sealed class InvokeBalanceCommandCommand : AddressedCmdlet
{
    /// <summary>One or more shell commands separated by ';' (or new lines).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Command { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int Port { get; set; }

    protected override void ProcessRecord()
    {
        using var client = TryOpen(Port, BindAddress);
        if (client is null)
        {
            return;
        }

        var endpoint = ControlSegment.Endpoint(client.Name);
        var session = ShellBridge.NewSession(client);
        foreach (var line in ShellBridge.Split(Command))
        {
            if (!ShouldProcess(endpoint, string.Format(CultureInfo.InvariantCulture, "Run the Balance shell command '{0}'", line)))
            {
                continue;
            }

            using var reply = new StringWriter(CultureInfo.InvariantCulture);
            ShellOutcome outcome;
            try
            {
                outcome = session.Execute(line, reply);
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteFailure(e, line);
                return;
            }

            foreach (var text in reply.ToString().Split('\n'))
            {
                if (text.Length > 0)
                {
                    WriteObject(text.TrimEnd('\r'));
                }
            }

            switch (outcome)
            {
                case ShellOutcome.Quit:
                case ShellOutcome.Killed:
                    return;
                case ShellOutcome.KillFailed:
                    WriteError(new ErrorRecord(
                        new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "the Balance instance on {0} did not stop after 'kill'; try Stop-Balance -Timeout with a longer wait", endpoint)),
                        ErrorIds.StopFailed,
                        ErrorCategory.OperationTimeout,
                        line));
                    return;
            }
        }
    }
}
