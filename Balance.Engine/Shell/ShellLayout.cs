using System.Globalization;
using Balance.Control;

namespace Balance.Shell;

/// <summary>
/// <c>save FILE</c>: writes the live layout to FILE (docs/layout-file.md), replacing it atomically.
/// The path is relative to the shell's working directory and is one word: a path with blanks is
/// refused rather than cut short.
/// </summary>
internal static class ShellLayout
{
    /// <remarks>An error reply is thrown as a <see cref="ShellReplyException"/>, so the session marks the command failed.</remarks>
    public static string Save(ControlClient client, ShellArguments arguments)
    {
        if (arguments.Count != 1)
        {
            throw new ShellReplyException("save: give one file name (without blanks): save <file>");
        }

        var path = arguments.Word(0);
        try
        {
            var layout = LiveLayout.Save(client, path);
            return string.Create(CultureInfo.InvariantCulture, $"layout saved to {Path.GetFullPath(path)} ({layout.Groups.Count(g => g.Channels.Count > 0)} groups, {layout.ChannelCount} channels)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ShellReplyException($"save: cannot write [{path}]: {e.Message}");
        }
    }
}
