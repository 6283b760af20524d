using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Shell;
using Xunit;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Shell;

public class ShowFormatterTests
{
    private const string ReferenceSample =
        "GRP Type  #   S       ip-address  port    c      totalc maxc        sent        rcvd\n" +
        "  0   RR  0 ENA        127.0.0.1  9101    0           3    0           6          18\n" +
        "  0   RR  1 ENA        127.0.0.1  9102    0           2    0           4          12\n" +
        "  1 Hash  0 dis        127.0.0.1  9104    0           0    0           0           0\n";

    [Fact]
    public void Show_matches_the_reference_sample_byte_for_byte()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.AddChannel(0, "127.0.0.1", 9102);
        instance.AddChannel(1, "127.0.0.1", 9104, enabled: false);
        instance.Client.SetGroupType(1, GroupType.Hash);
        instance.SetCounters(0, 0, connections: 0, total: 3, sent: 6, received: 18);
        instance.SetCounters(0, 1, connections: 0, total: 2, sent: 4, received: 12);

        var session = new ShellSession(instance.Client);
        Assert.Equal(ReferenceSample, session.Run("show"));
        Assert.Equal(ReferenceSample, session.Run("s"));
    }

    [Fact]
    public void Show_skips_empty_groups_and_lists_later_ones()
    {
        using var instance = new FakeInstance();
        instance.AddChannel(2, "127.0.0.1", 9201, maxc: 5);
        instance.SetCounters(2, 0, connections: 4, total: 12345678901, sent: 98765432101, received: 7);
        var expected = ShowFormatter.Header + "\n" +
            "  2   RR  0 ENA        127.0.0.1  9201    4 12345678901    5 98765432101           7\n";
        Assert.Equal(expected, new ShellSession(instance.Client).Run("show"));
    }

    [Fact]
    public void Header_has_the_reference_column_widths()
    {
        var line = ShowFormatter.FormatLine(Channel(IPAddress.Loopback, port: 1));
        Assert.Equal(ShowFormatter.Header.Length, line.Length);
        var columns = new[] { 3, 4, 2, 3, 16, 5, 4, 11, 4, 11, 11 };
        Assert.Equal(columns.Sum() + columns.Length - 1, ShowFormatter.Header.Length);
    }

    [Fact]
    public void Wide_values_overflow_their_column_instead_of_being_cut()
    {
        var line = ShowFormatter.FormatLine(Channel(IPAddress.Parse("2001:db8::1234:5678:9abc"), port: 65535, sent: 123456789012345, connections: 12345));
        Assert.Equal("  0   RR  0 ENA 2001:db8::1234:5678:9abc 65535 12345           0    0 123456789012345           0", line);
    }

    [Fact]
    public void Disabled_hash_channel_with_ipv6_loopback()
    {
        var line = ShowFormatter.FormatLine(Channel(IPAddress.IPv6Loopback, port: 80, enabled: false, type: GroupType.Hash, group: 11, index: 10));
        Assert.Equal(" 11 Hash 10 dis              ::1    80    0           0    0           0           0", line);
    }

    [Fact]
    public void Format_without_channels_is_just_the_header()
    {
        Assert.Equal(ShowFormatter.Header + "\n", ShowFormatter.Format([]));
    }

    private static ChannelInfo Channel(IPAddress address, int port, bool enabled = true, GroupType type = GroupType.RoundRobin, int group = 0, int index = 0, long sent = 0, int connections = 0) =>
        new(group, type, index, address.ToString(), port, address, enabled, 0, connections, 0, 0, sent, 0);
}
