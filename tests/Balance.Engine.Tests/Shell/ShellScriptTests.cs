using Balance.Shell;
using Xunit;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Shell;

public class ShellScriptTests
{
    [Theory]
    [InlineData("show", new[] { "show" })]
    [InlineData("group 1; disable 0; show", new[] { "group 1", "disable 0", "show" })]
    [InlineData("  group 1 ;;  ; show ;", new[] { "group 1", "show" })]
    [InlineData(";", new string[0])]
    [InlineData("", new string[0])]
    public void Split_trims_and_drops_empty_commands(string commands, string[] expected)
    {
        Assert.Equal(expected, ShellScript.Split(commands));
    }

    [Fact]
    public void Split_commands_reach_every_group_in_one_session()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.AddChannel(1, "127.0.0.1", 9102);
        var session = new ShellSession(instance.Client);
        using var output = new StringWriter();

        foreach (var command in ShellScript.Split("group 1; disable 0"))
        {
            Assert.Equal(ShellOutcome.Continue, session.Execute(command, output));
        }

        Assert.Equal("channel 0 disabled\n", output.ToString());
        Assert.True(instance.Client.GetChannel(0, 0).Enabled);
        Assert.False(instance.Client.GetChannel(1, 0).Enabled);
    }
}
