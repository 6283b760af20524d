using System.Globalization;
using Balance.Configuration;
using Balance.Control;
using Balance.Policies;

namespace Balance.Shell;

/// <summary>
/// The text command language of the original interactive shell, run one line at a time against
/// a running instance through its <see cref="ControlClient"/>. Replies keep the original's
/// wording; its bugs are not kept: <c>group</c> is checked against this instance's group count
/// without truncating to 8 bits, a failed <c>assign</c> leaves the address alone, <c>mrtg-*</c>
/// validate the channel against the group asked for, and <c>kill</c> asks the engine for a
/// graceful stop instead of killing a process id. Arguments a command does not take are ignored.
/// </summary>
public sealed class ShellSession
{
    /// <summary>Time for the engine to close its listener and notice the request, beyond its grace period.</summary>
    private static readonly TimeSpan KillMargin = TimeSpan.FromSeconds(5);

    private readonly ControlClient client;
    private readonly TimeSpan? killWait;

    /// <summary>A session on the instance <paramref name="client"/> controls, starting at group 0.</summary>
    public ShellSession(ControlClient client)
        : this(client, null)
    {
    }

    /// <summary>Lets tests bound how long <c>kill</c> waits for the engine.</summary>
    internal ShellSession(ControlClient client, TimeSpan? killWait)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
        this.killWait = killWait;
    }

    /// <summary>The group that channel commands address; 0 at start, changed by <c>group N</c>.</summary>
    public int CurrentGroup { get; private set; }

    /// <summary>
    /// True when the last <see cref="Execute"/> replied with an error (a syntax error, a value
    /// out of range, an unknown channel, a refused change): a script stops there.
    /// </summary>
    public bool LastCommandFailed { get; private set; }

    internal string Prompt => string.Create(CultureInfo.InvariantCulture, $"balance[{CurrentGroup}] ");

    internal ControlClient Client => client;

    /// <summary>Runs one command line and writes its reply; a blank line writes nothing.</summary>
    public ShellOutcome Execute(string line, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(output);
        LastCommandFailed = false;
        var word = ShellArguments.Parse(line, out var arguments);
        if (word is null)
        {
            return ShellOutcome.Continue;
        }

        var match = CommandMatcher.Match(word);
        if (match.Command is not { } command)
        {
            WriteLine(output, Fail(match.Reply ?? ShellReplies.SyntaxError));
            return ShellOutcome.Continue;
        }

        try
        {
            return Run(command, arguments, output);
        }
        catch (ShellReplyException e)
        {
            WriteLine(output, Fail(e.Reply));
        }
        catch (ControlException e)
        {
            // Not a reply the original had (a lock held too long, a segment gone bad): say what happened.
            WriteLine(output, Fail(e.Message));
        }

        return ShellOutcome.Continue;
    }

    private static void WriteLine(TextWriter output, string text)
    {
        output.Write(text);
        output.Write('\n');
    }

    private static ShellReplyException Reply(string text) => new(text);

    /// <summary>Marks the command failed and gives back its error reply.</summary>
    private string Fail(string reply)
    {
        LastCommandFailed = true;
        return reply;
    }

    private ShellOutcome Run(ShellCommand command, ShellArguments arguments, TextWriter output)
    {
        switch (command)
        {
            case ShellCommand.Quit:
                return ShellOutcome.Quit;
            case ShellCommand.Kill:
                return Kill(output);
            case ShellCommand.Help:
                output.Write(ShellHelp.Text);
                break;
            case ShellCommand.Version:
                output.Write(VersionText());
                break;
            case ShellCommand.Show:
                output.Write(ShowFormatter.Format(client.GetGroups().SelectMany(g => client.GetChannels(g.Group))));
                break;
            case ShellCommand.Group:
                SelectGroup(arguments.Integer(0));
                break;
            case ShellCommand.Enable:
            case ShellCommand.Disable:
                WriteLine(output, SetEnabled(arguments.Integer(0), command == ShellCommand.Enable));
                break;
            case ShellCommand.Create:
                WriteLine(output, Create(ShellDestination.Parse(arguments, 0, allowMaxConnections: true)));
                break;
            case ShellCommand.Assign:
                var channel = arguments.Integer(0);
                WriteLine(output, Assign(channel, ShellDestination.Parse(arguments, 1, allowMaxConnections: false)));
                break;
            case ShellCommand.Maxc:
                WriteLine(output, SetMaxConnections(arguments.Integer(0), arguments.Integer(1)));
                break;
            case ShellCommand.Reset:
                WriteLine(output, Reset(arguments.Integer(0)));
                break;
            case ShellCommand.Hash:
                client.SetGroupType(CurrentGroup, GroupType.Hash);
                WriteLine(output, ShellReplies.GroupSetToHash(CurrentGroup));
                break;
            case ShellCommand.RoundRobin:
                client.SetGroupType(CurrentGroup, GroupType.RoundRobin);
                WriteLine(output, ShellReplies.GroupSetToRoundRobin(CurrentGroup));
                break;
            case ShellCommand.MrtgBytes:
            case ShellCommand.MrtgConns:
                output.Write(Mrtg(arguments.Integer(0), arguments.Integer(1), command == ShellCommand.MrtgBytes));
                break;
            case ShellCommand.Drain:
                WriteLine(output, Drain(arguments.Integer(0)));
                break;
            case ShellCommand.Health:
                output.Write(HealthFormatter.Format(client.GetInstance().Checks, client.GetGroups().SelectMany(g => client.GetChannels(g.Group))));
                break;
            case ShellCommand.Check:
                WriteLine(output, ShellChecks.Set(client, CurrentGroup, arguments));
                break;
            case ShellCommand.MrtgHealth:
                output.Write(Mrtg(arguments.Integer(0), arguments.Integer(1), null));
                break;
            case ShellCommand.WeightedRoundRobin:
                WriteLine(output, SetPolicy(PolicyCatalog.WeightedRoundRobin, "weighted round robin"));
                break;
            case ShellCommand.LeastConnections:
                WriteLine(output, SetPolicy(PolicyCatalog.LeastConnections, "least connections"));
                break;
            case ShellCommand.Maglev:
                WriteLine(output, SetPolicy(PolicyCatalog.Maglev, "maglev"));
                break;
            case ShellCommand.Weight:
                WriteLine(output, SetWeight(arguments.Integer(0), arguments.Integer(1)));
                break;
            case ShellCommand.Save:
                WriteLine(output, ShellLayout.Save(client, arguments));
                break;
            default:
                throw new InvalidOperationException($"shell command {command} has no handler");
        }

        return ShellOutcome.Continue;
    }

    private string VersionText() => string.Create(
        CultureInfo.InvariantCulture,
        $"  Balance {ProductInfo.Version}, keeping the command set of balance {ProductInfo.CompatibleRelease}\n  MAXGROUPS={client.MaxGroups}\n  MAXCHANNELS={client.MaxChannels}\n");

    private void SelectGroup(int group)
    {
        if (group < 0 || group >= client.MaxGroups)
        {
            throw Reply(ShellReplies.ValueOutOfRange);
        }

        CurrentGroup = group;
    }

    private string SetEnabled(int channel, bool enable)
    {
        try
        {
            var change = enable ? client.Enable(CurrentGroup, channel) : client.Disable(CurrentGroup, channel);
            var changed = change == ChannelChange.Changed;
            return enable ? ShellReplies.Enabled(channel, changed) : ShellReplies.Disabled(channel, changed);
        }
        catch (ControlException e) when (e.Error == ControlError.NoSuchChannel)
        {
            return Fail(ShellReplies.NoSuchChannel(channel));
        }
    }

    private string Drain(int channel)
    {
        try
        {
            return ShellReplies.Draining(channel, client.Drain(CurrentGroup, channel) == ChannelChange.Changed);
        }
        catch (ControlException e) when (e.Error == ControlError.NoSuchChannel)
        {
            return Fail(ShellReplies.NoSuchChannel(channel));
        }
    }

    private string Create(ShellDestination destination)
    {
        try
        {
            var index = client.Create(CurrentGroup, destination.Host, destination.Port, destination.MaxConnections);
            if (destination.Weight != 1)
            {
                // The channel is created disabled, so nothing is picked at weight 1 in between.
                client.SetWeight(CurrentGroup, index, destination.Weight);
            }

            return ShellReplies.ChannelCreated;
        }
        catch (ControlException e) when (e.Error is ControlError.InvalidAddress or ControlError.GroupFull or ControlError.InvalidArgument)
        {
            return Fail(e.Error switch
            {
                ControlError.InvalidAddress => ShellReplies.InvalidAddress,
                ControlError.GroupFull => ShellReplies.NoChannelSlots,
                _ => ShellReplies.ValueOutOfRange, // InvalidArgument: a port or limit the client refused
            });
        }
    }

    private string Assign(int channel, ShellDestination destination)
    {
        try
        {
            // The client resolves before it writes, so a bad host leaves the old address in place.
            client.Assign(CurrentGroup, channel, destination.Host, destination.Port);
            return ShellReplies.ChannelReassigned;
        }
        catch (ControlException e) when (e.Error is ControlError.NoSuchChannel or ControlError.MustBeDisabled or ControlError.InvalidAddress or ControlError.InvalidArgument)
        {
            return Fail(e.Error switch
            {
                ControlError.NoSuchChannel => ShellReplies.UnknownChannel,
                ControlError.MustBeDisabled => ShellReplies.MustBeDisabled,
                ControlError.InvalidAddress => ShellReplies.InvalidAddress,
                _ => ShellReplies.ValueOutOfRange, // InvalidArgument: a port or limit the client refused
            });
        }
    }

    private string SetMaxConnections(int channel, int maxConnections)
    {
        try
        {
            client.SetMaxConnections(CurrentGroup, channel, maxConnections);
            return ShellReplies.MaxcChanged(channel, maxConnections);
        }
        catch (ControlException e) when (e.Error is ControlError.NoSuchChannel or ControlError.InvalidArgument)
        {
            return Fail(e.Error switch
            {
                ControlError.NoSuchChannel => ShellReplies.UnknownChannel,
                _ => ShellReplies.ValueOutOfRange, // InvalidArgument: a port or limit the client refused
            });
        }
    }

    private string SetPolicy(int policyId, string description)
    {
        client.SetPolicy(CurrentGroup, policyId);
        return ShellReplies.GroupSetTo(CurrentGroup, description);
    }

    private string SetWeight(int channel, int weight)
    {
        try
        {
            client.SetWeight(CurrentGroup, channel, weight);
            return ShellReplies.WeightChanged(channel, weight);
        }
        catch (ControlException e) when (e.Error is ControlError.NoSuchChannel or ControlError.InvalidArgument)
        {
            return Fail(e.Error == ControlError.NoSuchChannel ? ShellReplies.UnknownChannel : ShellReplies.WeightOutOfRange(ControlClient.MaxWeight));
        }
    }

    private string Reset(int channel)
    {
        try
        {
            client.ResetCounters(CurrentGroup, channel);
            return ShellReplies.CountersReset(channel);
        }
        catch (ControlException e) when (e.Error == ControlError.NoSuchChannel)
        {
            return Fail(ShellReplies.NoSuchChannel(channel));
        }
    }

    /// <param name="group">The group of the channel.</param>
    /// <param name="channel">The channel within <paramref name="group"/>.</param>
    /// <param name="bytes">True bytes, false connections, null the states (<c>mrtg-health</c>).</param>
    private string Mrtg(int group, int channel, bool? bytes)
    {
        if (group < 0 || group >= client.MaxGroups)
        {
            throw Reply(ShellReplies.UnknownGroup);
        }

        if (channel < 0 || channel >= client.GetGroup(group).ChannelCount)
        {
            throw Reply(ShellReplies.UnknownChannel);
        }

        var info = client.GetChannel(group, channel);
        var uptime = DateTimeOffset.UtcNow - client.GetInstance().StartTime;
        return bytes switch
        {
            true => MrtgFormatter.FormatBytes(info, uptime),
            false => MrtgFormatter.FormatConnections(info, uptime),
            null => MrtgFormatter.FormatHealth(info, uptime),
        };
    }

    private ShellOutcome Kill(TextWriter output)
    {
        var wait = killWait ?? client.GracePeriod + KillMargin;
        switch (client.Stop(wait))
        {
            case StopOutcome.Stopped:
                WriteLine(output, ShellReplies.ShutdownComplete);
                return ShellOutcome.Killed;
            case StopOutcome.Pending:
                WriteLine(output, Fail(ShellReplies.ShutdownPending(wait)));
                break;
            default:
                WriteLine(output, Fail(ShellReplies.ShutdownWithdrawn(wait)));
                break;
        }

        return ShellOutcome.KillFailed;
    }
}
