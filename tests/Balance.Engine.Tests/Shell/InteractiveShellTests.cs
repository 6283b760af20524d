using Balance.Configuration;
using Balance.Shell;
using Xunit;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Shell;

public class InteractiveShellTests
{
    [Fact]
    public void Banner_then_prompt_and_a_newline_at_end_of_input()
    {
        using var instance = new FakeInstance();
        using var output = new StringWriter();

        var status = InteractiveShell.Run(instance.Client, new StringReader(string.Empty), output);

        Assert.Equal(0, status);
        var text = output.ToString();
        var lines = text.Split('\n');
        Assert.Equal(string.Empty, lines[0]);
        Assert.Contains("Balance", lines[1], StringComparison.Ordinal);
        Assert.Contains("interactive command shell", lines[1], StringComparison.Ordinal);
        Assert.Equal($"PID of master process is {Environment.ProcessId}", lines[2]);
        Assert.Equal(string.Empty, lines[3]);
        Assert.Equal("balance[0] \n", string.Join('\n', lines[4..]));
    }

    [Fact]
    public void A_script_runs_line_by_line_with_the_current_group_in_the_prompt()
    {
        using var instance = new FakeInstance();
        using var output = new StringWriter();
        var script = "group 1\ncreate 127.0.0.1 9500\n\nenable 0\nshow\nbogus\n";

        var status = InteractiveShell.Run(instance.Client, new StringReader(script), output);

        Assert.Equal(0, status);
        var text = output.ToString();
        var body = text[(text.IndexOf("\n\n", 1, StringComparison.Ordinal) + 2)..];
        var expected =
            "balance[0] " +
            "balance[1] channel created\n" +
            "balance[1] " +
            "balance[1] channel 0 enabled\n" +
            "balance[1] " + ShowFormatter.Header + "\n" +
            "  1   RR  0 ENA        127.0.0.1  9500    0           0    0           0           0\n" +
            "balance[1] syntax error\n" +
            "balance[1] \n";
        Assert.Equal(expected, body);
    }

    [Fact]
    public void Quit_stops_reading_and_returns_zero()
    {
        using var instance = new FakeInstance();
        using var output = new StringWriter();

        var status = InteractiveShell.Run(instance.Client, new StringReader("quit\nhash\n"), output);

        Assert.Equal(0, status);
        Assert.EndsWith("balance[0] ", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(GroupType.RoundRobin, instance.Client.GetGroup(0).Type);
    }

    [Fact]
    public async Task A_successful_kill_returns_zero()
    {
        using var instance = new FakeInstance();
        using var output = new StringWriter();
        var engine = instance.ObeyKillAsync(TimeSpan.FromSeconds(10));

        var status = InteractiveShell.Run(instance.Client, new StringReader("kill\nshow\n"), output);

        Assert.Equal(0, status);
        Assert.EndsWith("balance[0] shutdown complete, exiting.\n", output.ToString(), StringComparison.Ordinal);
        await engine.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_failed_kill_returns_69()
    {
        using var instance = new FakeInstance();
        using var output = new StringWriter();
        var session = new ShellSession(instance.Client, TimeSpan.FromMilliseconds(100));

        var status = InteractiveShell.Run(session, new StringReader("kill\nshow\n"), output);

        Assert.Equal(ExitCodes.Unavailable, status);
        Assert.Contains("balance[0] shutdown failed: ", output.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("the request is withdrawn, it will not stop later\n", output.ToString(), StringComparison.Ordinal);
    }
}
