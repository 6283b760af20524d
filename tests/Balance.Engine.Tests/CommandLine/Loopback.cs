using System.Net;
using System.Net.Sockets;
using System.Text;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.CommandLine;

/// <summary>Loopback helpers with bounded waits for the process tests: a probe that fails is null or false, not an exception.</summary>
public static class Loopback
{
    /// <summary>A port nobody listens on right now (<see cref="Infrastructure.FreePort.Next"/>).</summary>
    public static int FreePort() => Infrastructure.FreePort.Next();

    /// <summary>Connects and reads the back-end's greeting line; null when nothing answers.</summary>
    public static async Task<string?> GreetingAsync(int port, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancel.Token);
            using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
            return await reader.ReadLineAsync(cancel.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the time is up (<see cref="Eventually.HoldsAsync"/>).</summary>
    public static Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return Eventually.HoldsAsync(() => Task.FromResult(condition()), timeout);
    }

    /// <summary>As above, for a check that is itself asynchronous.</summary>
    public static Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout) => Eventually.HoldsAsync(condition, timeout);
}
