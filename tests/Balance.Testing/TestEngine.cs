using Balance.Configuration;
using Balance.Control;
using Balance.Proxy;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// Starts in-process engines on fresh loopback ports, retrying when another test grabbed the
/// port first. Configurations default to a short grace period and connect timeout so a failing
/// test still stops quickly.
/// </summary>
public static class TestEngine
{
    /// <summary>An engine on 127.0.0.1 with channel words as on the balance command line ("host:port", "!", "%").</summary>
    public static BalanceEngine Start(IEnumerable<string> words, Func<BalanceConfiguration, BalanceConfiguration>? adjust = null, EngineOutput? output = null)
    {
        var list = words.ToArray();
        return Start(port => (adjust ?? (c => c))(Configuration(port, list)), output);
    }

    public static BalanceEngine Start(Func<int, BalanceConfiguration> configure, EngineOutput? output = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        for (var attempt = 0; ; attempt++)
        {
            var config = configure(FreePort.Next());
            try
            {
                return BalanceEngine.Start(config, output);
            }
            catch (ConfigurationException e) when (e.ExitCode == ExitCodes.OsError && attempt < 5)
            {
                // Someone took the port between probe and bind: try another.
            }
        }
    }

    public static BalanceConfiguration Configuration(int port, params string[] words) => new()
    {
        BindAddress = "127.0.0.1",
        Port = port,
        Groups = GroupSpec.ParseList(words, port),
        ConnectTimeout = TimeSpan.FromSeconds(2),
        GracePeriod = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>A control client on the engine's segment (dispose it).</summary>
    public static ControlClient Control(this BalanceEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return ControlClient.Open(engine.Name);
    }
}
