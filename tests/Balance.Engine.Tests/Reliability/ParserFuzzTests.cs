using Balance.CommandLine;
using Balance.Configuration;
using Balance.Shell;
using Balance.Tests.Infrastructure;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Random and hostile input for the two text front ends. The command-line parser either parses or
/// throws a <see cref="ConfigurationException"/> with a usable exit code and a message; the shell
/// answers every line with text and never throws, whatever the line holds.
/// </summary>
public sealed class ParserFuzzTests : IDisposable
{
    private static readonly string[] OptionWords =
    [
        "-c", "-b", "-B", "-t", "-T", "-a", "-d", "-f", "-p", "-i", "-H", "-M", "-6", "-h", "-fp", "-ct", "-t0", "-T-1",
        "--", "-", "--help", "--version", "--bogus", "-x", "-b127.0.0.1",
    ];

    private static readonly string[] ValueWords =
    [
        "1", "0", "65535", "65536", "-1", "99999999999999999999", "http", "no-such-service", "127.0.0.1", "[::1]", "::1",
        "a:1", "b:2:3", "[::1]:2:3", "!", "%", "x:y", ":", "c::4", "", " ", "\0", "ünïcode:1", "show", "kill", "a;b",
        new string('a', 300), "127.0.0.1:1:-5", "host:99999", "[::1", "1.2.3.4.5:6",
    ];

    private static readonly int[] ExitCodesAllowed =
        [ExitCodes.Usage, ExitCodes.DataError, ExitCodes.NoInput, ExitCodes.Unavailable, ExitCodes.Software, ExitCodes.OsError, ExitCodes.NoPermission];

    private readonly FakeInstance instance = new();
    private readonly ShellSession session;

    public ParserFuzzTests()
    {
        instance.AddChannel(0, "127.0.0.1", 9);
        session = new ShellSession(instance.Client, TimeSpan.Zero);
    }

    public void Dispose() => instance.Dispose();

    [Property(MaxTest = 3000)]
    public Property Any_command_line_parses_or_fails_with_a_named_reason()
    {
        var word = Gen.OneOf(Gen.Elements(OptionWords), Gen.Elements(ValueWords), ArbMap.Default.GeneratorFor<string>().Where(s => s is not null));
        return Prop.ForAll(word.ArrayOf().ToArbitrary(), args =>
        {
            try
            {
                CommandLineParser.Parse(args);
                return true;
            }
            catch (ConfigurationException e)
            {
                return !string.IsNullOrWhiteSpace(e.Message) && ExitCodesAllowed.Contains(e.ExitCode) && !e.Message.Contains("   at ", StringComparison.Ordinal);
            }
        });
    }

    [Property(MaxTest = 3000)]
    public Property Any_shell_line_gets_an_answer_and_never_an_exception()
    {
        var verbs = Gen.Elements("show", "enable", "disable", "group", "assign", "create", "maxc", "reset", "hash", "rr", "mrtg-bytes", "mrtg-conns", "help", "?", "e", "d", "m", "g", "quit", "s", "kil", "");
        var arguments = Gen.OneOf(Gen.Elements(ValueWords), Gen.Elements("0", "1", "7", "8", "-1", "2147483648", "4294967296", "1e9", "0x10"), ArbMap.Default.GeneratorFor<string>().Where(s => s is not null));
        var line = Gen.Zip(verbs, arguments.ArrayOf()).Select(t => string.Join(' ', new[] { t.Item1 }.Concat(t.Item2)).Replace('\n', ' '));
        return Prop.ForAll(line.ToArbitrary(), text =>
        {
            using var output = new StringWriter();
            var outcome = session.Execute(text, output);
            return outcome == ShellOutcome.Continue || outcome == ShellOutcome.Quit || text.TrimStart().StartsWith("kill", StringComparison.Ordinal);
        });
    }

    [Property(MaxTest = 1000)]
    public Property Any_command_script_splits_without_throwing(string? script)
    {
        return (script is null || ShellScript.Split(script) is not null).ToProperty();
    }
}
