using System.Globalization;
using Balance.Control;

namespace Balance.Shell;

/// <summary>
/// <c>check &lt;channel&gt; [interval &lt;ms&gt;] [rise &lt;n&gt;] [fall &lt;n&gt;] [port &lt;p&gt;]</c>: a
/// channel's own active check settings; without settings it prints them. Settings not named keep
/// their value; 0 returns one to the instance's. A bad value changes nothing.
/// </summary>
internal static class ShellChecks
{
    /// <remarks>An error reply is thrown as a <see cref="ShellReplyException"/>, so the session marks the command failed.</remarks>
    public static string Set(ControlClient client, int group, ShellArguments arguments)
    {
        var channel = arguments.Integer(0);
        ChannelInfo info;
        try
        {
            info = client.GetChannel(group, channel);
        }
        catch (ControlException e) when (e.Error == ControlError.NoSuchChannel)
        {
            throw new ShellReplyException(ShellReplies.NoSuchChannel(channel));
        }

        var o = info.CheckOverrides;
        for (var i = 1; i < arguments.Count; i += 2)
        {
            if (i + 1 >= arguments.Count)
            {
                throw new ShellReplyException(string.Create(CultureInfo.InvariantCulture, $"check: [{arguments.Word(i)}] needs a value: check <channel> [interval <ms>] [rise <n>] [fall <n>] [port <p>]"));
            }

            var value = arguments.Integer(i + 1);
            switch (arguments.Word(i))
            {
                case "interval": o = o with { IntervalMs = value }; break;
                case "rise": o = o with { Rise = value }; break;
                case "fall": o = o with { Fall = value }; break;
                case "port": o = o with { Port = value }; break;
                default:
                    throw new ShellReplyException($"check: unknown setting [{arguments.Word(i)}]: use interval, rise, fall or port");
            }
        }

        try
        {
            client.SetCheckOverrides(group, channel, o);
        }
        catch (ControlException e) when (e.Error == ControlError.InvalidArgument)
        {
            throw new ShellReplyException("check: " + e.Message);
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"channel {channel} checks: interval {Own(o.IntervalMs, " ms")}, rise {Own(o.Rise, string.Empty)}, fall {Own(o.Fall, string.Empty)}, port {(o.Port == 0 ? "the channel's" : o.Port.ToString(CultureInfo.InvariantCulture))}");
    }

    private static string Own(int value, string unit) =>
        value == 0 ? "the instance's" : value.ToString(CultureInfo.InvariantCulture) + unit;
}
