using System.Globalization;
using System.Text;
using Balance.Proxy;
using Microsoft.Win32.SafeHandles;

namespace Balance.CommandLine;

/// <summary>
/// The background half of a detached start: a copy of this program started by
/// <see cref="DetachedLauncher"/> with <see cref="Marker"/> set and its stdout/stderr connected to
/// the launcher. It leaves the terminal's session, starts the engine, reports readiness (or the
/// error and its exit code) to the launcher, and then points its standard descriptors at
/// /dev/null so that no diagnostic can ever reach a client or back-end socket (the original's
/// daemon closed them without reopening, and sockets took their numbers).
/// </summary>
internal static class DetachedChild
{
    /// <summary>Environment variable that tells a started copy it is the background half.</summary>
    public const string Marker = "BALANCE_DETACHED_CHILD";

    /// <summary>The line on stdout that tells the launcher the listener is up.</summary>
    public const string ReadyLine = "balance: ready";

    /// <summary>
    /// When this process is the background copy: clears the marker (so nothing it starts inherits
    /// it), closes the descriptors it inherited beyond 0-2 (<see cref="InheritedDescriptors"/>), and makes Console write straight to descriptors 1 and 2 instead of duplicates of them,
    /// so that replacing the descriptors later really disconnects the launcher's pipes. Must run
    /// before anything touches Console.
    /// </summary>
    public static bool TryBecomeChild()
    {
        if (Environment.GetEnvironmentVariable(Marker) != "1")
        {
            return false;
        }

        Environment.SetEnvironmentVariable(Marker, null);
        InheritedDescriptors.CloseInherited();
        Console.SetOut(DescriptorWriter(1));
        Console.SetError(DescriptorWriter(2));
        return true;
    }

    public static int Run(ParsedCommandLine command, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(command);
        NativeMethods.CreateSession();
        Directory.SetCurrentDirectory("/");
        var configuration = command.Configuration;
        using var signals = new ShutdownSignals();

        // -p output could only go to /dev/null once detached; not producing it saves the formatting.
        var engine = EngineLaunch.Start(command, new EngineOutput { Debug = configuration.Debug ? error : null, Notices = error });
        EngineLaunch.ReportTakeover(command, engine, output);
        if (configuration.Debug)
        {
            error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"running in the background as process {Environment.ProcessId}; further -d/-p output is discarded (use -f to see it)"));
            error.Flush();
        }

        output.WriteLine(ReadyLine);
        output.Flush();
        NativeMethods.RedirectStandardStreamsToNull();
        return EngineHost.RunUntilStopped(engine, signals, TextWriter.Null);
    }

    private static TextWriter DescriptorWriter(int descriptor)
    {
        var stream = new FileStream(new SafeFileHandle(descriptor, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        return TextWriter.Synchronized(new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true });
    }
}
