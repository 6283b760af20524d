using Balance.Configuration;
using Balance.Control;

namespace Balance.CommandLine;

/// <summary>
/// Entry point of the balance executable: parse, pick the mode, and turn every failure into one
/// line on stderr plus an exit code — never a stack trace.
/// </summary>
internal static class BalanceCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
        ShutdownSignals.OwnProcess();
        var detachedChild = DetachedChild.TryBecomeChild();
        return Run(args, Console.In, Console.Out, Console.Error, detachedChild);
    }

    /// <summary>The whole program against given streams (tests run it in-process this way).</summary>
    internal static int Run(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error, bool detachedChild = false)
    {
        try
        {
            var command = CommandLineParser.Parse(args);
            switch (command.Mode)
            {
                case BalanceMode.Help:
                    output.WriteLine(UsageText.Help);
                    output.Flush();
                    return ExitCodes.Ok;
                case BalanceMode.Version:
                    output.WriteLine(UsageText.VersionLine);
                    output.Flush();
                    return ExitCodes.Ok;
                case BalanceMode.MetricsFile:
                    return MetricsFileMode.Run(command, error);
                case BalanceMode.Interactive:
                case BalanceMode.Command:
                    return ControlMode.Run(command, input, output, error);
                default:
                    if (command.Foreground)
                    {
                        return ForegroundMode.Run(command, output, error);
                    }

                    return detachedChild
                        ? DetachedChild.Run(command, output, error)
                        : DetachedLauncher.Run(args, output, error);
            }
        }
        catch (ConfigurationException e)
        {
            return ErrorReport.Write(error, e.Message, e.ExitCode);
        }
        catch (ControlException e)
        {
            return ErrorReport.Write(error, e.Message, ControlMode.ExitCodeFor(e.Error));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ErrorReport.Write(error, $"unexpected {e.GetType().Name}: {e.Message}", ExitCodes.Software);
        }
    }

    /// <summary>
    /// Last resort for a failure on a background thread: one line and exit 70 instead of the
    /// runtime's stack trace (exiting here keeps the runtime from printing it).
    /// </summary>
    private static void OnUnhandledException(object sender, UnhandledExceptionEventArgs e)
    {
        var message = e.ExceptionObject is Exception exception ? $"{exception.GetType().Name}: {exception.Message}" : "unknown failure";
        try
        {
            ErrorReport.Write(Console.Error, "internal error, stopping: " + message, ExitCodes.Software);
        }
        finally
        {
            Environment.Exit(ExitCodes.Software);
        }
    }
}
