using Balance.Proxy;

namespace Balance.CommandLine;

/// <summary><c>-f</c>: the proxy runs in this process, attached to the terminal.</summary>
internal static class ForegroundMode
{
    public static int Run(ParsedCommandLine command, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(command);
        var configuration = command.Configuration;
        using var signals = new ShutdownSignals();
        var engine = EngineLaunch.Start(command, new EngineOutput
        {
            Debug = configuration.Debug ? error : null,
            PacketDump = configuration.PacketDump ? output : null,
            Notices = error,
        });

        return EngineHost.RunUntilStopped(engine, signals, error);
    }
}
