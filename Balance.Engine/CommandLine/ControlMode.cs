using Balance.Configuration;
using Balance.Control;

namespace Balance.CommandLine;

/// <summary>
/// <c>-i</c> and <c>-c</c>: attach to the instance's control segment, with the original's start-up
/// checks (no instance, incompatible version) plus the ones a file-based segment needs
/// (permission, damage), then hand over to the shell.
/// </summary>
internal static class ControlMode
{
    public static int Run(ParsedCommandLine command, TextReader input, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.Ports.Count > 1 ? RunOnEach(command, output, error) : RunOn(command, input, output, error);
    }

    /// <summary>
    /// <c>-c</c> with several ports: the script runs on each instance in turn, every line of its
    /// replies and errors headed by the port, and a failure on one does not stop the others. The
    /// exit status is the first failure's, or 0.
    /// </summary>
    private static int RunOnEach(ParsedCommandLine command, TextWriter output, TextWriter error)
    {
        var status = ExitCodes.Ok;
        foreach (var port in command.Ports)
        {
            var prefix = port.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": ";
            using var prefixedOutput = new LinePrefixWriter(output, prefix);
            using var prefixedError = new LinePrefixWriter(error, prefix);
            var one = command with { Configuration = command.Configuration with { Port = port }, Ports = [port] };
            var code = RunOn(one, TextReader.Null, prefixedOutput, prefixedError);
            prefixedOutput.Flush();
            prefixedError.Flush();
            status = status == ExitCodes.Ok ? code : status;
        }

        return status;
    }

    private static int RunOn(ParsedCommandLine command, TextReader input, TextWriter output, TextWriter error)
    {
        var endpoint = command.Configuration;
        ControlClient client;
        try
        {
            client = Open(endpoint);
        }
        catch (ControlException e)
        {
            return ErrorReport.Write(error, e.Message, ExitCodeFor(e.Error));
        }

        using (client)
        {
            try
            {
                return command.Mode == BalanceMode.Interactive
                    ? ShellBridge.RunInteractive(client, input, output)
                    : ShellBridge.RunScript(client, command.CommandText ?? string.Empty, output);
            }
            catch (ControlException e)
            {
                // The shell reports command errors itself; what reaches here means the instance
                // became unusable underneath it (stopped, segment replaced).
                output.Flush();
                return ErrorReport.Write(error, e.Message, ExitCodeFor(e.Error));
            }
        }
    }

    /// <summary>
    /// Without <c>-b</c> the instance listens on a wildcard, and whether it is the IPv4 or the
    /// dual-stack one depends on the <c>-6</c> it was started with; a shell given no <c>-6</c> (or
    /// an extra one) still finds it. The original keyed both on 0.0.0.0, so its users never had to
    /// repeat <c>-6</c>.
    /// </summary>
    internal static ControlClient Open(BalanceConfiguration endpoint)
    {
        try
        {
            return ControlClient.Open(endpoint.BindAddress, endpoint.Port, endpoint.IPv6);
        }
        catch (ControlException e) when (e.Error == ControlError.NotRunning && endpoint.BindAddress is null)
        {
            try
            {
                return ControlClient.Open(null, endpoint.Port, !endpoint.IPv6);
            }
            catch (ControlException)
            {
                throw e;
            }
        }
    }

    /// <summary>The original's sysexits for the same situations; 77 for the check it never had.</summary>
    public static int ExitCodeFor(ControlError error) => error switch
    {
        ControlError.NotRunning => ExitCodes.Unavailable,
        ControlError.IncompatibleLayout => ExitCodes.DataError,
        ControlError.Corrupt => ExitCodes.DataError,
        ControlError.PermissionDenied => ExitCodes.NoPermission,
        ControlError.InvalidAddress => ExitCodes.OsError,
        _ => ExitCodes.Unavailable,
    };
}
