using Balance.CommandLine;
using Balance.Configuration;
using Xunit;

namespace Balance.Tests.CommandLine;

/// <summary>The whole program in-process, for what needs no running instance.</summary>
public class BalanceCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = BalanceCommand.Run(args, TextReader.Null, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData(ExitCodes.Usage, "invalid port [abc]", "abc", "x")]
    [InlineData(ExitCodes.Usage, "unknown option [-q]", "-q", "9000")]
    [InlineData(ExitCodes.Usage, "[-t 0]", "-t0", "9000", "x")]
    [InlineData(ExitCodes.Usage, "[-T soon]", "-T", "soon", "9000", "x")]
    [InlineData(ExitCodes.Usage, "port is missing")]
    [InlineData(ExitCodes.Usage, "option [-d] after the port", "9000", "x", "-d")]
    [InlineData(ExitCodes.DataError, "invalid channel [h:p:q]", "9000", "h:p:q")]
    [InlineData(ExitCodes.Unavailable, "no channels in group 0", "9000", "!")]
    public void Bad_command_lines_give_one_line_a_hint_and_the_exit_code(int expected, string text, params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(expected, code);
        Assert.Empty(output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("balance: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(text, lines[0], StringComparison.Ordinal);
        Assert.Contains("balance -h", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_invalid_port_message_says_how_to_fix_it()
    {
        var (_, _, error) = Run("abc");
        Assert.StartsWith("balance: invalid port [abc]: give a number 1-65535 or a TCP service name", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void Help_lists_every_option_and_exits_zero(string option)
    {
        var (code, output, error) = Run(option);
        Assert.Equal(0, code);
        Assert.Empty(error);
        foreach (var o in new[] { "-a", "-b", "-B", "-c", "-d", "-f", "-H", "-i", "-M", "-p", "-t", "-T", "-6" })
        {
            Assert.Contains("  " + o + " ", output, StringComparison.Ordinal);
        }

        Assert.Contains("[!|%]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_prints_the_product_version()
    {
        var (code, output, _) = Run("--version");
        Assert.Equal(0, code);
        Assert.Equal($"balance {ProductInfo.Version} (command line and formats of balance {ProductInfo.CompatibleRelease})\n", output.Replace("\r", "", StringComparison.Ordinal));
    }
}
