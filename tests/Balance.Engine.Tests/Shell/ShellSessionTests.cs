using System.Net;
using Balance.Configuration;
using Balance.Control;
using Balance.Shell;
using Xunit;
using Balance.Tests.Infrastructure;

namespace Balance.Tests.Shell;

public sealed class ShellSessionTests : IDisposable
{
    private readonly FakeInstance instance = new(maxGroups: 4, maxChannels: 3);
    private readonly ShellSession session;

    public ShellSessionTests()
    {
        session = new ShellSession(instance.Client, TimeSpan.FromMilliseconds(200));
    }

    public void Dispose() => instance.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(" \t ")]
    public void A_blank_line_prints_nothing(string line)
    {
        Assert.Equal(string.Empty, session.Run(line, out var outcome));
        Assert.Equal(ShellOutcome.Continue, outcome);
    }

    [Fact]
    public void Prompt_shows_the_current_group()
    {
        Assert.Equal("balance[0] ", session.Prompt);
        Assert.Equal(string.Empty, session.Run("group 3"));
        Assert.Equal(3, session.CurrentGroup);
        Assert.Equal("balance[3] ", session.Prompt);
    }

    [Theory]
    [InlineData("group 4", "value out of range\n")]
    [InlineData("group -1", "value out of range\n")]
    [InlineData("group 257", "value out of range\n")]
    [InlineData("group 99999999999", "value out of range\n")]
    [InlineData("group", "syntax error\n")]
    [InlineData("group x", "syntax error\n")]
    [InlineData("group 1x", "syntax error\n")]
    [InlineData("group 1.0", "syntax error\n")]
    public void Group_is_bounded_by_this_instance_and_never_truncated(string line, string reply)
    {
        Assert.Equal(reply, session.Run(line));
        Assert.Equal(0, session.CurrentGroup);
    }

    [Fact]
    public void Group_ignores_extra_arguments()
    {
        Assert.Equal(string.Empty, session.Run("g 2 junk"));
        Assert.Equal(2, session.CurrentGroup);
    }

    [Fact]
    public void Enable_and_disable_report_changes_and_non_changes()
    {
        instance.AddChannel(0, "127.0.0.1", 9101, enabled: true);
        Assert.Equal("channel 0 already enabled\n", session.Run("enable 0"));
        Assert.Equal("channel 0 disabled\n", session.Run("disable 0"));
        Assert.False(instance.Client.GetChannel(0, 0).Enabled);
        Assert.Equal("channel 0 already disabled\n", session.Run("d 0"));
        Assert.Equal("channel 0 enabled\n", session.Run("e 0"));
        Assert.True(instance.Client.GetChannel(0, 0).Enabled);
    }

    [Theory]
    [InlineData("enable 1", "no such channel 1\n")]
    [InlineData("enable -1", "no such channel -1\n")]
    [InlineData("disable 7", "no such channel 7\n")]
    [InlineData("enable", "syntax error\n")]
    [InlineData("disable zero", "syntax error\n")]
    [InlineData("disable 3000000000", "value out of range\n")]
    public void Enable_and_disable_check_their_argument(string line, string reply)
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        Assert.Equal(reply, session.Run(line));
    }

    [Fact]
    public void Enable_and_disable_address_the_current_group()
    {
        instance.AddChannel(0, "127.0.0.1", 9101, enabled: true);
        instance.AddChannel(2, "127.0.0.1", 9201, enabled: true);
        session.Run("group 2");
        Assert.Equal("channel 0 disabled\n", session.Run("disable 0"));
        Assert.True(instance.Client.GetChannel(0, 0).Enabled);
        Assert.False(instance.Client.GetChannel(2, 0).Enabled);
        session.Run("group 1");
        Assert.Equal("no such channel 0\n", session.Run("enable 0"));
    }

    [Fact]
    public void Create_appends_a_disabled_channel_to_the_current_group()
    {
        session.Run("group 1");
        Assert.Equal("channel created\n", session.Run("create 127.0.0.1 9301"));
        var channel = instance.Client.GetChannel(1, 0);
        Assert.False(channel.Enabled);
        Assert.Equal(IPAddress.Loopback, channel.Address);
        Assert.Equal(9301, channel.Port);
        Assert.Equal(0, instance.Client.GetGroup(0).ChannelCount);
    }

    [Theory]
    [InlineData("create 127.0.0.2:9302", "127.0.0.2", 9302, 0)]
    [InlineData("create [::1]:9303", "::1", 9303, 0)]
    [InlineData("create [::1] 9304", "::1", 9304, 0)]
    [InlineData("create ::1 9305", "::1", 9305, 0)]
    [InlineData("create 127.0.0.3:9306:4", "127.0.0.3", 9306, 4)]
    [InlineData("create localhost 9307 extra words", "localhost", 9307, 0)]
    public void Create_accepts_one_word_destinations_too(string line, string host, int port, int maxc)
    {
        Assert.Equal("channel created\n", session.Run(line));
        var channel = instance.Client.GetChannel(0, 0);
        Assert.Equal(host, channel.Host);
        Assert.Equal(port, channel.Port);
        Assert.Equal(maxc, channel.MaxConnections);
    }

    [Theory]
    [InlineData("create", "syntax error\n")]
    [InlineData("create 127.0.0.1", "syntax error\n")]
    [InlineData("create 127.0.0.1:", "syntax error\n")]
    [InlineData("create [::1", "syntax error\n")]
    [InlineData("create 127.0.0.1 port", "syntax error\n")]
    [InlineData("create 127.0.0.1 0", "value out of range\n")]
    [InlineData("create 127.0.0.1 65536", "value out of range\n")]
    [InlineData("create 127.0.0.1 99999999999", "value out of range\n")]
    [InlineData("create no-such-host.invalid 9000", "invalid address\n")]
    [InlineData("create hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh 9000", "invalid address\n")]
    public void Create_rejects_bad_destinations(string line, string reply)
    {
        Assert.Equal(reply, session.Run(line));
        Assert.Equal(0, instance.Client.GetGroup(0).ChannelCount);
    }

    [Fact]
    public void Create_takes_a_service_name_as_port()
    {
        Assert.Equal("channel created\n", session.Run("create 127.0.0.1 http"));
        Assert.Equal(80, instance.Client.GetChannel(0, 0).Port);
    }

    [Fact]
    public void Create_reports_a_full_group()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("channel created\n", session.Run("create 127.0.0.1 " + (9400 + i)));
        }

        Assert.Equal("no channel slots available\n", session.Run("create 127.0.0.1 9499"));
        Assert.Equal(3, instance.Client.GetGroup(0).ChannelCount);
    }

    [Fact]
    public void Assign_points_a_disabled_channel_elsewhere_and_keeps_counters()
    {
        instance.AddChannel(0, "127.0.0.1", 9101, enabled: false);
        instance.SetCounters(0, 0, connections: 0, total: 5, sent: 10, received: 20);
        Assert.Equal("channel reassigned\n", session.Run("assign 0 127.0.0.9 9109"));
        var channel = instance.Client.GetChannel(0, 0);
        Assert.Equal(IPAddress.Parse("127.0.0.9"), channel.Address);
        Assert.Equal(9109, channel.Port);
        Assert.Equal(5, channel.TotalConnections);
        Assert.Equal(10, channel.BytesSent);

        Assert.Equal("channel reassigned\n", session.Run("a 0 [::1]:9110"));
        channel = instance.Client.GetChannel(0, 0);
        Assert.Equal(IPAddress.IPv6Loopback, channel.Address);
        Assert.Equal(9110, channel.Port);
    }

    [Fact]
    public void Assign_refuses_an_enabled_channel_and_leaves_it_alone()
    {
        instance.AddChannel(0, "127.0.0.1", 9101, enabled: true);
        Assert.Equal("channel must be disabled to assign new address\n", session.Run("assign 0 127.0.0.9 9109"));
        var channel = instance.Client.GetChannel(0, 0);
        Assert.Equal(IPAddress.Loopback, channel.Address);
        Assert.Equal(9101, channel.Port);
    }

    [Fact]
    public void A_failed_assign_does_not_corrupt_the_address()
    {
        instance.AddChannel(0, "127.0.0.1", 9101, enabled: false);
        Assert.Equal("invalid address\n", session.Run("assign 0 no-such-host.invalid 9109"));
        var channel = instance.Client.GetChannel(0, 0);
        Assert.Equal(IPAddress.Loopback, channel.Address);
        Assert.Equal("127.0.0.1", channel.Host);
        Assert.Equal(9101, channel.Port);
    }

    [Theory]
    [InlineData("assign 1 127.0.0.9 9109", "unknown channel\n")]
    [InlineData("assign -1 127.0.0.9 9109", "unknown channel\n")]
    [InlineData("assign", "syntax error\n")]
    [InlineData("assign 0", "syntax error\n")]
    [InlineData("assign 0 127.0.0.9", "syntax error\n")]
    [InlineData("assign x 127.0.0.9 9109", "syntax error\n")]
    [InlineData("assign 0 127.0.0.9:9109:3", "syntax error\n")]
    [InlineData("assign 0 127.0.0.9 70000", "value out of range\n")]
    public void Assign_checks_its_arguments(string line, string reply)
    {
        instance.AddChannel(0, "127.0.0.1", 9101, enabled: false);
        Assert.Equal(reply, session.Run(line));
        Assert.Equal(9101, instance.Client.GetChannel(0, 0).Port);
    }

    [Fact]
    public void Maxc_changes_the_limit()
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        Assert.Equal("maxc of channel 0 changed to 7\n", session.Run("maxc 0 7"));
        Assert.Equal(7, instance.Client.GetChannel(0, 0).MaxConnections);
        Assert.Equal("maxc of channel 0 changed to 0\n", session.Run("max 0 0"));
        Assert.Equal(0, instance.Client.GetChannel(0, 0).MaxConnections);
    }

    [Theory]
    [InlineData("maxc 1 7", "unknown channel\n")]
    [InlineData("maxc -2 7", "unknown channel\n")]
    [InlineData("maxc 0 -1", "value out of range\n")]
    [InlineData("maxc 0 4294967296", "value out of range\n")]
    [InlineData("maxc 0", "syntax error\n")]
    [InlineData("maxc", "syntax error\n")]
    [InlineData("maxc 0 seven", "syntax error\n")]
    public void Maxc_checks_its_arguments(string line, string reply)
    {
        instance.AddChannel(0, "127.0.0.1", 9101, maxc: 3);
        Assert.Equal(reply, session.Run(line));
        Assert.Equal(3, instance.Client.GetChannel(0, 0).MaxConnections);
    }

    [Fact]
    public void Reset_zeroes_counters_but_not_live_connections()
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.SetCounters(0, 0, connections: 2, total: 5, sent: 10, received: 20, failures: 3);
        Assert.Equal("channel 0 counters reset\n", session.Run("reset 0"));
        var channel = instance.Client.GetChannel(0, 0);
        Assert.Equal(2, channel.Connections);
        Assert.Equal(0, channel.TotalConnections);
        Assert.Equal(0, channel.BytesSent);
        Assert.Equal(0, channel.BytesReceived);
        Assert.Equal(0, channel.Failures);
    }

    [Theory]
    [InlineData("reset 1", "no such channel 1\n")]
    [InlineData("reset", "syntax error\n")]
    [InlineData("reset a", "syntax error\n")]
    public void Reset_checks_its_argument(string line, string reply)
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        instance.SetCounters(0, 0, connections: 0, total: 5, sent: 10, received: 20);
        Assert.Equal(reply, session.Run(line));
        Assert.Equal(5, instance.Client.GetChannel(0, 0).TotalConnections);
    }

    [Fact]
    public void Hash_and_rr_set_the_type_of_the_current_group()
    {
        session.Run("group 2");
        Assert.Equal("group 2 set to hash\n", session.Run("hash"));
        Assert.Equal(GroupType.Hash, instance.Client.GetGroup(2).Type);
        Assert.Equal(GroupType.RoundRobin, instance.Client.GetGroup(0).Type);
        Assert.Equal("group 2 set to round robin\n", session.Run("rr"));
        Assert.Equal(GroupType.RoundRobin, instance.Client.GetGroup(2).Type);
    }

    [Theory]
    [InlineData("wrr", "weighted round robin", GroupType.WeightedRoundRobin)]
    [InlineData("leastconn", "least connections", GroupType.LeastConnections)]
    [InlineData("maglev", "maglev", GroupType.Maglev)]
    public void The_policy_words_set_the_policy_of_the_current_group(string word, string said, GroupType type)
    {
        session.Run("group 1");
        Assert.Equal($"group 1 set to {said}\n", session.Run(word));
        Assert.False(session.LastCommandFailed);
        Assert.Equal(type, instance.Client.GetGroup(1).Type);
        Assert.Equal((int)type, instance.Client.GetGroup(1).PolicyId);
        Assert.Equal(GroupType.RoundRobin, instance.Client.GetGroup(0).Type);
        Assert.Equal("group 1 set to hash\n", session.Run("hash"));
        Assert.Equal(GroupType.Hash, instance.Client.GetGroup(1).Type);
    }

    [Fact]
    public void Weight_sets_the_weight_of_a_channel_of_the_current_group()
    {
        instance.AddChannel(1, "127.0.0.1", 9101);
        session.Run("group 1");
        var version = instance.Client.GetInstance().ChangeVersion;
        Assert.Equal("weight of channel 0 changed to 5\n", session.Run("weight 0 5"));
        Assert.Equal(5, instance.Client.GetChannel(1, 0).Weight);
        Assert.True(instance.Client.GetInstance().ChangeVersion > version, "a weight change moves the change version");
        Assert.Equal("weight of channel 0 changed to 0\n", session.Run("weight 0 0"));
        Assert.Equal(0, instance.Client.GetChannel(1, 0).Weight);
    }

    [Fact]
    public void Create_takes_a_weight_in_the_command_line_form_and_assign_refuses_one()
    {
        Assert.Equal("channel created\n", session.Run("create 127.0.0.1:9101:0:4"));
        Assert.Equal((4, 0), (instance.Client.GetChannel(0, 0).Weight, instance.Client.GetChannel(0, 0).MaxConnections));
        Assert.Equal("syntax error\n", session.Run("assign 0 127.0.0.1:9102:0:2"));
        Assert.Equal(9101, instance.Client.GetChannel(0, 0).Port);
    }

    [Theory]
    [InlineData("weight 0 257", "value out of range: a weight is 0 (no new connections) to 256\n")]
    [InlineData("weight 0 -1", "value out of range: a weight is 0 (no new connections) to 256\n")]
    [InlineData("weight 0 99999999999", "value out of range\n")]
    [InlineData("weight 1 2", "unknown channel\n")]
    [InlineData("weight 0", "syntax error\n")]
    [InlineData("weight x 2", "syntax error\n")]
    public void Weight_checks_its_arguments_and_fails_the_script(string line, string reply)
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        Assert.Equal(reply, session.Run(line));
        Assert.True(session.LastCommandFailed);
        Assert.Equal(1, instance.Client.GetChannel(0, 0).Weight);
    }

    [Theory]
    [InlineData("drain 9", "no such channel 9\n")]
    [InlineData("check 9", "no such channel 9\n")]
    [InlineData("check 0 interval", "check: [interval] needs a value: check <channel> [interval <ms>] [rise <n>] [fall <n>] [port <p>]\n")]
    [InlineData("check 0 speed 3", "check: unknown setting [speed]: use interval, rise, fall or port\n")]
    public void Drain_and_check_error_replies_fail_the_command(string line, string reply)
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        Assert.Equal(reply, session.Run(line));
        Assert.True(session.LastCommandFailed);
        Assert.Equal(ChannelAdminState.Enabled, instance.Client.GetChannel(0, 0).AdminState);
    }

    [Fact]
    public void A_check_value_the_instance_refuses_fails_the_command_and_changes_nothing()
    {
        instance.AddChannel(0, "127.0.0.1", 9101);
        var before = instance.Client.GetChannel(0, 0).CheckOverrides;
        Assert.StartsWith("check: ", session.Run("check 0 interval -1"), StringComparison.Ordinal);
        Assert.True(session.LastCommandFailed);
        Assert.Equal(before, instance.Client.GetChannel(0, 0).CheckOverrides);
        session.Run("check 0 rise 3");
        Assert.False(session.LastCommandFailed);
    }

    [Fact]
    public void Help_and_question_mark_print_the_command_list()
    {
        Assert.Equal(ShellHelp.Text, session.Run("help"));
        Assert.Equal(ShellHelp.Text, session.Run("?"));
        Assert.Equal(ShellHelp.Text, session.Run("he"));
    }

    [Fact]
    public void Version_names_the_product_and_the_limits_of_this_instance()
    {
        var lines = session.Run("version extra").Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Equal(string.Empty, lines[3]);
        Assert.StartsWith("  Balance " + ProductInfo.Version, lines[0], StringComparison.Ordinal);
        Assert.Contains("balance 3.54", lines[0], StringComparison.Ordinal);
        Assert.Equal("  MAXGROUPS=4", lines[1]);
        Assert.Equal("  MAXCHANNELS=3", lines[2]);
    }

    [Fact]
    public void Quit_prints_nothing_and_ends_the_session()
    {
        Assert.Equal(string.Empty, session.Run("quit", out var outcome));
        Assert.Equal(ShellOutcome.Quit, outcome);
        Assert.Equal(string.Empty, session.Run("q now", out outcome));
        Assert.Equal(ShellOutcome.Quit, outcome);
    }

    [Fact]
    public void Show_lists_only_the_header_when_there_are_no_channels()
    {
        Assert.Equal(ShowFormatter.Header + "\n", session.Run("show"));
    }
}
