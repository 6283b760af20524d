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
        var endpoint = command.Configuration;
        ControlClient client;
        try
        {
            client = ControlClient.Open(endpoint.BindAddress, endpoint.Port, endpoint.IPv6);
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
