using Balance.Configuration;

namespace Balance.Shell;

/// <summary>
/// The back-end named by <c>create</c> and <c>assign</c>: either two words, <c>HOST PORT</c>, as
/// the original required, or one word in the command line's form <c>host:port</c> /
/// <c>[v6addr]:port</c> (the original rejected that with a syntax error), where <c>create</c> also
/// takes <c>:maxc:weight</c>.
/// </summary>
internal sealed record ShellDestination(string Host, int Port, int MaxConnections, int Weight = 1)
{
    /// <summary>Reads the destination starting at argument <paramref name="first"/>.</summary>
    public static ShellDestination Parse(ShellArguments arguments, int first, bool allowMaxConnections)
    {
        var host = arguments.Word(first);
        if (arguments.Count > first + 1)
        {
            return new ShellDestination(Unbracket(host), arguments.Port(first + 1), 0);
        }

        ChannelSpec spec;
        try
        {
            // Port 0 as the default marks "no port given": a channel without one is incomplete here.
            spec = ChannelSpec.Parse(host, 0);
        }
        catch (ConfigurationException)
        {
            throw new ShellReplyException(ShellReplies.SyntaxError);
        }

        if (spec.Port == 0 || (!allowMaxConnections && (spec.MaxConnections != 0 || spec.Weight != 1)))
        {
            throw new ShellReplyException(ShellReplies.SyntaxError);
        }

        return new ShellDestination(spec.Host, spec.Port, spec.MaxConnections, spec.Weight);
    }

    private static string Unbracket(string host) =>
        host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
}
