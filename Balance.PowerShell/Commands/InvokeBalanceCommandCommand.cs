using System.Globalization;
using System.Management.Automation;
using Balance.Control;
using Balance.Shell;

namespace Balance.PowerShell;

/// <summary>
/// Invoke-BalanceCommand: runs commands of the original interactive shell (<c>show</c>,
/// <c>group 1; disable 0</c>, <c>mrtg-bytes 0 0</c>...) against an instance and writes their
/// replies as strings; a refusal (<c>no such channel 9</c>, <c>syntax error</c>) is a
/// non-terminating error instead. One session per call, so <c>group</c> carries over to later
/// commands, piped ones included. Instances piped in (Get-Balance) each get their own session, and
/// each reply line carries Port and BindAddress, so the replies of several instances stay apart.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "BalanceCommand", SupportsShouldProcess = true)]
[OutputType(typeof(string))]
public sealed class InvokeBalanceCommandCommand : AddressedCmdlet, IDisposable
{
    private ControlClient? client;
    private ShellSession? session;
    private (int Port, string? BindAddress) opened;
    private bool ended;

    /// <summary>Shell commands: each string may hold several separated by ';' or new lines.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = [];

    /// <summary>Listen port of the instance; without -BindAddress, the only instance on this port is meant.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    [ArgumentCompleter(typeof(PortCompleter))]
    public int Port { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        if (Open() is not { } shell || ended)
        {
            return;
        }

        var endpoint = ControlSegment.Endpoint(client!.Name);
        foreach (var line in Command.SelectMany(c => ShellBridge.Split(c.Replace('\n', ';'))))
        {
            if (!ShouldProcess(endpoint, string.Format(CultureInfo.InvariantCulture, "Run the Balance shell command '{0}'", line)))
            {
                continue;
            }

            if (!Run(shell, line, endpoint))
            {
                ended = true;
                return;
            }
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing() => Dispose();

    /// <summary>Closes the session of this call (PowerShell also calls it when the pipeline is stopped).</summary>
    public void Dispose()
    {
        client?.Dispose();
        client = null;
        session = null;
    }

    /// <summary>The session of this call; a piped record for another instance starts a new one.</summary>
    private ShellSession? Open()
    {
        if (client is not null && opened == (Port, BindAddress))
        {
            return session;
        }

        // Another instance: a session that ended on the previous one (quit, kill, a failure) does not end this one.
        Dispose();
        ended = false;
        opened = (Port, BindAddress);
        client = TryOpen(Port, BindAddress);
        session = client is null ? null : ShellBridge.NewSession(client);
        return session;
    }

    /// <summary>A reply line that still compares and prints as the string, with the instance it came from as Port and BindAddress.</summary>
    private PSObject Tagged(string line)
    {
        var tagged = new PSObject(line);
        tagged.Properties.Add(new PSNoteProperty(nameof(Port), client!.Name.Port));
        tagged.Properties.Add(new PSNoteProperty(nameof(BindAddress), client.Name.NormalizedAddress));
        return tagged;
    }

    /// <summary>Runs one command; false when the session is over (quit, kill, or a failure).</summary>
    private bool Run(ShellSession shell, string line, string endpoint)
    {
        using var reply = new StringWriter(CultureInfo.InvariantCulture);
        ShellOutcome outcome;
        try
        {
            outcome = shell.Execute(line, reply);
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteFailure(e, line);
            return false;
        }

        var text = reply.ToString();
        if (ShellErrorReply.CategoryOf(text) is { } category)
        {
            var message = string.Format(CultureInfo.InvariantCulture, "'{0}' on {1}: {2}", line, endpoint, text.TrimEnd('\n', '\r'));
            WriteError(new ErrorRecord(new InvalidOperationException(message), ErrorIds.ShellCommandFailed, category, line));
            return true;
        }

        foreach (var part in text.Split('\n'))
        {
            if (part.Length > 0)
            {
                WriteObject(Tagged(part.TrimEnd('\r')));
            }
        }

        if (outcome == ShellOutcome.KillFailed)
        {
            WriteError(new ErrorRecord(
                new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "the Balance instance on {0} did not stop after 'kill'; try Stop-Balance -Timeout with a longer wait", endpoint)),
                ErrorIds.StopFailed,
                ErrorCategory.OperationTimeout,
                line));
        }

        return outcome == ShellOutcome.Continue;
    }
}
