using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Get-BalanceCounter: per-channel counters for monitoring, as objects or as the four MRTG lines
/// exactly as <c>balance -c "mrtg-bytes G C"</c> (or <c>mrtg-conns</c>) prints them.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BalanceCounter")]
[OutputType(typeof(BalanceCounter), typeof(string))]
public sealed class GetBalanceCounterCommand : ChannelQueryBase
{
    /// <summary>Which counter pair In and Out carry: Bytes (default), Connections or Health.</summary>
    [Parameter]
    public CounterKind Kind { get; set; } = CounterKind.Bytes;

    /// <summary>Object (counter objects, the default) or Mrtg (the four lines MRTG reads per channel).</summary>
    [Parameter]
    public CounterFormat Format { get; set; } = CounterFormat.Object;

    private protected override void Emit(ControlClient client, ChannelInfo channel)
    {
        if (Format == CounterFormat.Mrtg)
        {
            foreach (var line in ShellBridge.Mrtg(channel, Kind, client.GetInstance().Uptime).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                WriteObject(line);
            }

            return;
        }

        WriteObject(new BalanceCounter(client.Name.Port, client.Name.NormalizedAddress, channel, Kind, DateTimeOffset.Now));
    }
}
