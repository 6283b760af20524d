using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Shell;
using Xunit;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Shell;

public sealed class MrtgTests : IDisposable
{
    private static readonly TimeSpan Uptime = new(3, 4, 5, 6);
    private readonly FakeInstance instance = new(maxGroups: 4, maxChannels: 4);
    private readonly ShellSession session;

    public MrtgTests()
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.SetCounters(0, 0, connections: 1, total: 3, sent: 6, received: 18);
        for (var c = 0; c < 3; c++)
        {
            instance.AddChannel(2, "127.0.0.1", 9201 + c);
        }

        instance.SetCounters(2, 2, connections: 0, total: 44, sent: 55, received: 66);

        // A little extra so the seconds cannot read one too few while the test runs.
        instance.Segment.Header.StartTimeUnixMs = (DateTimeOffset.UtcNow - Uptime - TimeSpan.FromMilliseconds(100)).ToUnixTimeMilliseconds();
        session = new ShellSession(instance.Client);
    }

    public void Dispose() => instance.Dispose();

    [Fact]
    public void Mrtg_bytes_prints_in_out_uptime_and_name()
    {
        var lines = Lines(session.Run("mrtg-bytes 0 0"));
        Assert.Equal(["18", "6"], lines[..2]);
        AssertUptime(lines[2]);
        Assert.Equal("group 0 channel 0", lines[3]);
    }

    [Fact]
    public void Mrtg_conns_prints_total_unknown_uptime_and_name()
    {
        var lines = Lines(session.Run("mrtg-conns 0 0"));
        Assert.Equal(["3", "UNKNOWN"], lines[..2]);
        AssertUptime(lines[2]);
        Assert.Equal("group 0 channel 0", lines[3]);
    }

    [Fact]
    public void The_channel_is_checked_against_the_requested_group_not_the_current_one()
    {
        var lines = Lines(session.Run("mrtg-bytes 2 2"));
        Assert.Equal(["66", "55"], lines[..2]);
        Assert.Equal("group 2 channel 2", lines[3]);
        Assert.Equal("44", Lines(session.Run("mrtg-c 2 2"))[0]);
        Assert.Equal("unknown channel\n", session.Run("mrtg-bytes 0 1"));
        Assert.Equal("unknown channel\n", session.Run("mrtg-bytes 2 3"));
        session.Run("group 2");
        Assert.Equal("18", Lines(session.Run("mrtg-bytes 0 0"))[0]);
    }

    [Theory]
    [InlineData("mrtg-bytes 4 0", "unknown group\n")]
    [InlineData("mrtg-bytes -1 0", "unknown group\n")]
    [InlineData("mrtg-conns 16 0", "unknown group\n")]
    [InlineData("mrtg-bytes 1 0", "unknown channel\n")]
    [InlineData("mrtg-bytes 0 -1", "unknown channel\n")]
    [InlineData("mrtg-conns 0 1", "unknown channel\n")]
    [InlineData("mrtg-bytes 0", "syntax error\n")]
    [InlineData("mrtg-bytes", "syntax error\n")]
    [InlineData("mrtg-conns zero 0", "syntax error\n")]
    [InlineData("mrtg-conns 0 99999999999", "value out of range\n")]
    [InlineData("mrtg 0 0", "ambiguous command, one of: mrtg-bytes, mrtg-conns\n")]
    public void Bad_arguments_are_refused(string line, string reply)
    {
        Assert.Equal(reply, session.Run(line));
    }

    [Theory]
    [InlineData(0, 0, 0, 0, "0 days, 00:00:00")]
    [InlineData(0, 0, 0, 42, "0 days, 00:00:42")]
    [InlineData(1, 2, 3, 4, "1 day, 02:03:04")]
    [InlineData(3, 4, 5, 6, "3 days, 04:05:06")]
    [InlineData(400, 23, 59, 59, "400 days, 23:59:59")]
    public void Uptime_reads_days_hours_minutes_seconds(int days, int hours, int minutes, int seconds, string expected)
    {
        Assert.Equal(expected, MrtgFormatter.FormatUptime(new TimeSpan(days, hours, minutes, seconds)));
    }

    [Fact]
    public void Negative_uptime_reads_as_zero()
    {
        Assert.Equal("0 days, 00:00:00", MrtgFormatter.FormatUptime(TimeSpan.FromSeconds(-5)));
    }

    [Fact]
    public void Formatter_output_is_four_lines_ending_in_newline()
    {
        var channel = new ChannelInfo(1, GroupType.Hash, 2, "::1", 80, IPAddress.IPv6Loopback, true, 0, 0, 7, 0, 8, 9);
        Assert.Equal("9\n8\n0 days, 00:01:00\ngroup 1 channel 2\n", MrtgFormatter.FormatBytes(channel, TimeSpan.FromMinutes(1)));
        Assert.Equal("7\nUNKNOWN\n1 day, 00:00:00\ngroup 1 channel 2\n", MrtgFormatter.FormatConnections(channel, TimeSpan.FromDays(1)));
    }

    private static string[] Lines(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text[..^1].Split('\n');
        Assert.Equal(4, lines.Length);
        return lines;
    }

    private static void AssertUptime(string line) =>
        Assert.Contains(line, new[] { "3 days, 04:05:06", "3 days, 04:05:07" });
}
