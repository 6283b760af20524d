using System.Globalization;
using Balance.Configuration;

namespace Balance.Shell;

/// <summary>
/// The words after the command name. Arguments beyond those a command takes are ignored, as the
/// original did (<c>version extra</c> prints the version).
/// </summary>
internal sealed class ShellArguments
{
    private static readonly char[] Blanks = [' ', '\t', '\r', '\n', '\v', '\f'];
    private readonly string[] words;

    private ShellArguments(string[] words)
    {
        this.words = words;
    }

    public int Count => words.Length;

    /// <summary>Splits a line on blanks; the first word (the command) is returned separately.</summary>
    public static string? Parse(string line, out ShellArguments arguments)
    {
        var all = line.Split(Blanks, StringSplitOptions.RemoveEmptyEntries);
        arguments = new ShellArguments(all.Length > 1 ? all[1..] : []);
        return all.Length == 0 ? null : all[0];
    }

    public string Word(int index) =>
        index < words.Length ? words[index] : throw new ShellReplyException(ShellReplies.SyntaxError);

    /// <summary>
    /// A decimal integer: a missing or malformed one is a syntax error, a well-formed one beyond
    /// the range of int is out of range (the original's atoi silently wrapped it).
    /// </summary>
    public int Integer(int index) => ParseInteger(Word(index));

    /// <summary>A TCP port, decimal or a service name as on the command line.</summary>
    public int Port(int index) => ParsePort(Word(index));

    public static int ParseInteger(string text)
    {
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        throw new ShellReplyException(IsDecimal(text) ? ShellReplies.ValueOutOfRange : ShellReplies.SyntaxError);
    }

    public static int ParsePort(string text)
    {
        if (IsDecimal(text))
        {
            var value = ParseInteger(text);
            return value is >= 1 and <= 65535 ? value : throw new ShellReplyException(ShellReplies.ValueOutOfRange);
        }

        return ServicePorts.TryParse(text, out var port) ? port : throw new ShellReplyException(ShellReplies.SyntaxError);
    }

    private static bool IsDecimal(string text)
    {
        var digits = text.AsSpan();
        if (digits.Length > 0 && (digits[0] == '-' || digits[0] == '+'))
        {
            digits = digits[1..];
        }

        return digits.Length > 0 && !digits.ContainsAnyExceptInRange('0', '9');
    }
}
