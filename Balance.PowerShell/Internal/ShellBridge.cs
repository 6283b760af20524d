using Balance.Control;
using Balance.Shell;

namespace Balance.PowerShell;

/// <summary>
/// The one place the module touches the text shell of Balance.Engine (Balance.Shell): the MRTG
/// lines and the command language are the shell's, so the cmdlets print exactly what
/// <c>balance -c</c> prints.
/// </summary>
internal static class ShellBridge
{
    public static string Mrtg(ChannelInfo channel, CounterKind kind, TimeSpan uptime) =>
        kind switch
        {
            CounterKind.Bytes => MrtgFormatter.FormatBytes(channel, uptime),
            CounterKind.Health => MrtgFormatter.FormatHealth(channel, uptime),
            _ => MrtgFormatter.FormatConnections(channel, uptime),
        };

    public static IReadOnlyList<string> Split(string commands) => ShellScript.Split(commands);

    public static ShellSession NewSession(ControlClient client) => new(client);
}
