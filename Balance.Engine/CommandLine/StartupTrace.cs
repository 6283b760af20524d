using System.Globalization;
using Balance.Configuration;
using Balance.Proxy;

namespace Balance.CommandLine;

/// <summary>The <c>-d</c> start-up lines (the original's list, adapted to what this engine has).</summary>
internal static class StartupTrace
{
    public static void Write(TextWriter output, BalanceEngine engine, BalanceConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(configuration);
        var text = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(text, $"source port {configuration.Port}"));
        output.WriteLine(string.Create(text, $"listening on {engine.LocalEndPoint}"));
        output.WriteLine(string.Create(text, $"control segment {engine.Name.Path}"));
        output.WriteLine("the following channels are active:");
        for (var g = 0; g < configuration.Groups.Count; g++)
        {
            var channels = configuration.Groups[g].Channels;
            for (var c = 0; c < channels.Count; c++)
            {
                output.WriteLine(string.Create(text, $"{g,3} {c,2} {channels[c].Destination}:{channels[c].MaxConnections}"));
            }
        }

        output.Flush();
    }
}
