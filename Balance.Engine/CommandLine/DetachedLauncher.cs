using System.ComponentModel;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Balance.Configuration;

namespace Balance.CommandLine;

/// <summary>
/// The foreground half of a detached start. It runs this program again as a background copy
/// (<see cref="DetachedChild"/>) and returns only when that copy reports that it listens (exit 0,
/// silent) or has failed (its message and exit code), so that a script can trust the exit status —
/// the original forked before parsing the channels and returned 0 even when nothing ran.
/// </summary>
internal static class DetachedLauncher
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var start = SelfStartInfo(args);
        InheritedDescriptors.KeepFromChildren();
        Process? child;
        try
        {
            child = Process.Start(start);
        }
        catch (Win32Exception e)
        {
            return ErrorReport.Write(error, $"cannot start the background process [{start.FileName}]: {e.Message}", ExitCodes.OsError);
        }

        if (child is null)
        {
            return ErrorReport.Write(error, $"cannot start the background process [{start.FileName}]", ExitCodes.OsError);
        }

        using (child)
        {
            child.StandardInput.Close();
            var relayErrors = RelayAsync(child.StandardError, error);
            var ready = WaitForReadyAsync(child.StandardOutput, output);
            if (!ready.Wait(ReadyTimeout))
            {
                StopChild(child);
                relayErrors.Wait(DrainTimeout);
                return ErrorReport.Write(
                    error,
                    string.Create(CultureInfo.InvariantCulture, $"the background process did not report that it listens within {ReadyTimeout.TotalSeconds:0} s; it was stopped (run with -f -d to see where it hangs)"),
                    ExitCodes.Software);
            }

            if (ready.Result)
            {
                // The child disconnects stderr right after the ready line; wait so its -d lines are all shown.
                relayErrors.Wait(DrainTimeout);
                return ExitCodes.Ok;
            }

            if (!child.WaitForExit(DrainTimeout))
            {
                StopChild(child);
            }

            relayErrors.Wait(DrainTimeout);
            var code = child.HasExited ? child.ExitCode : ExitCodes.Software;
            return code != ExitCodes.Ok
                ? code
                : ErrorReport.Write(error, "the background process ended before it was listening", ExitCodes.Software);
        }
    }

    /// <summary>This same program: the apphost itself, or the dotnet host plus our assembly.</summary>
    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "The assembly path is read only under the dotnet host, which never runs a native or single-file build.")]
    private static ProcessStartInfo SelfStartInfo(IReadOnlyList<string> args)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("the path of the running program is unknown");
        var start = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(DetachedLauncher).Assembly.Location);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[DetachedChild.Marker] = "1";
        return start;
    }

    private static async Task<bool> WaitForReadyAsync(StreamReader childOutput, TextWriter output)
    {
        while (await childOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (line == DetachedChild.ReadyLine)
            {
                return true;
            }

            output.WriteLine(line);
        }

        return false;
    }

    private static async Task RelayAsync(StreamReader childError, TextWriter error)
    {
        while (await childError.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            error.WriteLine(line);
        }

        error.Flush();
    }

    private static void StopChild(Process child)
    {
        try
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit(DrainTimeout);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Already gone.
        }
    }
}
