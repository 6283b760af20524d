using Balance.CommandLine;
using Balance.Configuration;
using Xunit;

namespace Balance.Tests.CommandLine;

public class CommandLineParserTests
{
    private static ParsedCommandLine Parse(params string[] args) => CommandLineParser.Parse(args);

    private static ConfigurationException Fails(params string[] args) =>
        Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(args));

    [Fact]
    public void Defaults_match_the_original()
    {
        var parsed = Parse("9000", "backend");
        Assert.Equal(BalanceMode.Start, parsed.Mode);
        Assert.False(parsed.Foreground);
        Assert.False(parsed.MappedFileRequested);
        var c = parsed.Configuration;
        Assert.Null(c.BindAddress);
        Assert.Null(c.OutboundAddress);
        Assert.Equal(9000, c.Port);
        Assert.False(c.IPv6);
        Assert.Equal(TimeSpan.FromSeconds(5), c.ConnectTimeout);
        Assert.Equal(TimeSpan.Zero, c.IdleTimeout);
        Assert.False(c.AutoDisable);
        Assert.False(c.HashFailover);
        Assert.False(c.PacketDump);
        Assert.False(c.Debug);
        var group = Assert.Single(c.Groups);
        Assert.Equal(GroupType.RoundRobin, group.Type);
        Assert.Equal(new ChannelSpec("backend", 9000, 0), Assert.Single(group.Channels));
    }

    [Fact]
    public void Every_option_is_understood()
    {
        var parsed = Parse("-b", "127.0.0.1", "-B", "10.0.0.1", "-t", "7", "-T", "9", "-a", "-d", "-f", "-p", "-H", "-M", "-6", "9000", "h:81:3");
        var c = parsed.Configuration;
        Assert.Equal("127.0.0.1", c.BindAddress);
        Assert.Equal("10.0.0.1", c.OutboundAddress);
        Assert.Equal(TimeSpan.FromSeconds(7), c.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(9), c.IdleTimeout);
        Assert.True(c.AutoDisable);
        Assert.True(c.Debug);
        Assert.True(parsed.Foreground);
        Assert.True(c.PacketDump);
        Assert.True(c.HashFailover);
        Assert.True(parsed.MappedFileRequested);
        Assert.True(c.IPv6);
        Assert.Equal(new ChannelSpec("h", 81, 3), c.Groups[0].Channels[0]);
    }

    [Fact]
    public void Takeover_takes_the_endpoint_and_engine_options_and_no_channel()
    {
        var parsed = Parse("-f", "-b", "127.0.0.1", "--workers", "2", "-t", "3", "--takeover", "9000");
        Assert.True(parsed.Takeover);
        Assert.Equal(BalanceMode.Start, parsed.Mode);
        Assert.True(parsed.Foreground);
        Assert.Equal((9000, "127.0.0.1", 2, TimeSpan.FromSeconds(3)), (parsed.Configuration.Port, parsed.Configuration.BindAddress, parsed.Configuration.Workers, parsed.Configuration.ConnectTimeout));
        Assert.Empty(parsed.Configuration.Groups);
        Assert.False(Parse("9000", "backend").Takeover);
    }

    [Fact]
    public void Takeover_keeps_a_state_file_current_like_any_start()
    {
        var parsed = Parse("--state-file", "/tmp/balance-takeover.state", "--takeover", "9000");
        Assert.True(parsed.Takeover);
        Assert.Equal("/tmp/balance-takeover.state", parsed.Configuration.StateFile);
        Assert.Empty(parsed.Configuration.Groups);
    }

    [Theory]
    [InlineData(new[] { "--takeover", "9000", "backend" }, "unexpected channel [backend] with --takeover")]
    [InlineData(new[] { "--takeover", "-c", "show", "9000" }, "option --takeover starts a proxy")]
    [InlineData(new[] { "--takeover", "--policy", "wrr", "9000" }, "option --takeover starts a proxy")]
    [InlineData(new[] { "--takeover=1", "9000" }, "option --takeover takes no value")]
    [InlineData(new[] { "--layout", "/tmp/x.layout", "--takeover", "9000" }, "option --layout cannot go with --takeover")]
    public void Takeover_refuses_what_it_cannot_use_with_a_usage_error(string[] args, string message)
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(args));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Workers_is_a_long_option_with_its_value_next_or_after_an_equals_sign()
    {
        Assert.Equal(0, Parse("9000", "h").Configuration.Workers);
        Assert.Equal(4, Parse("--workers", "4", "9000", "h").Configuration.Workers);
        Assert.Equal(2, Parse("-f", "--workers=2", "-a", "9000", "h").Configuration.Workers);
        Assert.Equal(0, Parse("--workers", "0", "9000", "h").Configuration.Workers);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("-1")]
    [InlineData("1025")]
    public void A_bad_worker_count_is_refused_by_name(string value)
    {
        var e = Fails("--workers", value, "9000", "h");
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains($"invalid worker count [--workers {value}]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Workers_without_a_value_says_what_is_missing()
    {
        var e = Fails("--workers");
        Assert.Contains("option --workers needs a value", e.Message, StringComparison.Ordinal);
        Assert.Contains("option --help takes no value", Fails("--help=1", "9000").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flags_cluster()
    {
        var parsed = Parse("-fa", "-dH6", "9000", "x");
        Assert.True(parsed.Foreground);
        Assert.True(parsed.Configuration.AutoDisable);
        Assert.True(parsed.Configuration.Debug);
        Assert.True(parsed.Configuration.HashFailover);
        Assert.True(parsed.Configuration.IPv6);
        Assert.False(parsed.Configuration.PacketDump);
    }

    [Theory]
    [InlineData("-t5 -T3 -b127.0.0.1 9000 x")]
    [InlineData("-t 5 -T 3 -b 127.0.0.1 9000 x")]
    [InlineData("-ft5 -T3 -b127.0.0.1 9000 x")]
    [InlineData("-ft 5 -aT 3 -b 127.0.0.1 9000 x")]
    public void Option_values_attach_or_follow(string line)
    {
        var args = line.Split(' ');
        var c = CommandLineParser.Parse(args).Configuration;
        Assert.Equal(TimeSpan.FromSeconds(5), c.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), c.IdleTimeout);
        Assert.Equal("127.0.0.1", c.BindAddress);
    }

    [Fact]
    public void A_value_may_look_like_an_option()
    {
        var parsed = Parse("-c", "-x", "9000");
        Assert.Equal("-x", parsed.CommandText);
    }

    [Fact]
    public void Later_options_win()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), Parse("-t", "9", "-t", "2", "9000", "x").Configuration.ConnectTimeout);
    }

    [Fact]
    public void Double_dash_ends_the_options()
    {
        var parsed = Parse("-f", "--", "9000", "x");
        Assert.True(parsed.Foreground);
        Assert.Equal(9000, parsed.Configuration.Port);
        var e = Fails("--", "-f", "9000");
        Assert.Equal("-f", e.Token);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }

    [Fact]
    public void Ports_can_be_service_names()
    {
        var c = Parse("http", "web", "mail:smtp:2").Configuration;
        Assert.Equal(80, c.Port);
        Assert.Equal(new ChannelSpec("web", 80, 0), c.Groups[0].Channels[0]);
        Assert.Equal(new ChannelSpec("mail", 25, 2), c.Groups[0].Channels[1]);
    }

    [Fact]
    public void Empty_channel_port_means_the_listen_port()
    {
        var c = Parse("9000", "web::5").Configuration;
        Assert.Equal(new ChannelSpec("web", 9000, 5), c.Groups[0].Channels[0]);
    }

    [Fact]
    public void Separators_close_groups()
    {
        var groups = Parse("9000", "a", "b", "!", "c", "%", "d").Configuration.Groups;
        Assert.Equal(3, groups.Count);
        Assert.Equal(GroupType.RoundRobin, groups[0].Type);
        Assert.Equal(["a", "b"], groups[0].Channels.Select(c => c.Host));
        Assert.Equal(GroupType.Hash, groups[1].Type);
        Assert.Equal(GroupType.RoundRobin, groups[2].Type);
    }

    [Theory]
    [InlineData("!", GroupType.RoundRobin)]
    [InlineData("%", GroupType.Hash)]
    public void A_trailing_separator_sets_the_last_group_type(string separator, GroupType type)
    {
        var groups = Parse("9000", "a", "!", "b", separator).Configuration.Groups;
        Assert.Equal(2, groups.Count);
        Assert.Equal(type, groups[1].Type);
    }

    [Fact]
    public void Policy_word_sets_the_groups_that_bang_or_the_end_closes_and_leaves_percent_groups_hash()
    {
        var groups = Parse("--policy", "maglev", "9000", "a", "!", "b", "%", "c").Configuration.Groups;
        Assert.Equal([GroupType.Maglev, GroupType.Hash, GroupType.Maglev], groups.Select(g => g.Type));
    }

    [Fact]
    public void Policy_per_group_sets_that_group_whatever_closed_it_and_accepts_names_in_any_case()
    {
        var groups = Parse("--policy", "wrr", "--policy=1=LeastConnections", "--policy", "2=rr", "9000", "a", "!", "b", "%", "c").Configuration.Groups;
        Assert.Equal([GroupType.WeightedRoundRobin, GroupType.LeastConnections, GroupType.RoundRobin], groups.Select(g => g.Type));
    }

    [Fact]
    public void Without_policy_the_separators_mean_what_they_meant()
    {
        var groups = Parse("9000", "a:80:0:3", "!", "b", "%").Configuration.Groups;
        Assert.Equal([GroupType.RoundRobin, GroupType.Hash], groups.Select(g => g.Type));
        Assert.Equal(3, groups[0].Channels[0].Weight);
        Assert.Equal(1, groups[1].Channels[0].Weight);
    }

    [Theory]
    [InlineData("random", "'random' is not a policy; use one of rr, hash, wrr, leastconn, maglev")]
    [InlineData("x=maglev", "'x' is not a group number")]
    [InlineData("2=maglev", "group 2 does not exist: the channels form 2 group(s)")]
    [InlineData("1=", "'' is not a policy")]
    public void A_bad_policy_is_named_with_the_fix(string value, string reason)
    {
        var e = Fails("--policy", value, "9000", "a", "!", "b");
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("invalid --policy [", e.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }

    [Fact]
    public void Policy_is_refused_with_the_shell()
    {
        Assert.Contains("give it with the channels", Fails("--policy", "maglev", "-c", "show", "9000").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IPv6_channels_are_bracketed()
    {
        var channel = Parse("9000", "[::1]:9001:5", "[2001:db8::7]").Configuration.Groups[0].Channels;
        Assert.Equal(new ChannelSpec("::1", 9001, 5), channel[0]);
        Assert.Equal(new ChannelSpec("2001:db8::7", 9000, 0), channel[1]);
    }

    [Fact]
    public void A_start_without_channels_is_a_usage_error()
    {
        // The man page asks for at least one channel; the original then served nobody (issue 20).
        var e = Assert.Throws<ConfigurationException>(() => Parse("-b", "127.0.0.1", "9000"));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.StartsWith("no channel after port [9000]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_grow_with_the_command_line()
    {
        var words = Enumerable.Range(0, 100).Select(i => "h:" + (1000 + i)).Prepend("9000").ToArray();
        var c = Parse(words).Configuration;
        Assert.Equal(100, c.Groups[0].Channels.Count);
        Assert.True(c.MaxChannelsPerGroup >= 100);
    }

    [Fact]
    public void Command_mode_takes_the_text_and_the_port()
    {
        var parsed = Parse("-b", "127.0.0.1", "-c", "show", "-6", "9000");
        Assert.Equal(BalanceMode.Command, parsed.Mode);
        Assert.Equal("show", parsed.CommandText);
        Assert.Equal(9000, parsed.Configuration.Port);
        Assert.Equal("127.0.0.1", parsed.Configuration.BindAddress);
        Assert.True(parsed.Configuration.IPv6);
        Assert.Equal(BalanceMode.Command, Parse("-cshow", "9000").Mode);
    }

    [Fact]
    public void Command_mode_takes_several_ports_and_interactive_mode_one()
    {
        var parsed = Parse("-c", "drain 1", "9000", "9001", "http");
        Assert.Equal([9000, 9001, 80], parsed.Ports);
        Assert.Equal(9000, parsed.Configuration.Port);
        Assert.Equal([9000], Parse("-c", "show", "9000").Ports);
        var e = Fails("-c", "show", "9000", "web1:80");
        Assert.Equal(("web1:80", ExitCodes.Usage), (e.Token, e.ExitCode));
        Assert.Contains("-c takes the ports of running instances", e.Message, StringComparison.Ordinal);
        Assert.Contains("-i takes only the port", Fails("-i", "9000", "9001").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void C_wins_over_i_as_in_the_original()
    {
        Assert.Equal(BalanceMode.Command, Parse("-i", "-c", "show", "9000").Mode);
    }

    [Fact]
    public void A_lone_dash_is_an_operand_not_an_option()
    {
        var e = Fails("-f", "-", "x");
        Assert.Equal("-", e.Token);
        Assert.Contains("invalid port [-]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Interactive_mode_takes_the_port()
    {
        var parsed = Parse("-i", "-d", "-M", "smtp");
        Assert.Equal(BalanceMode.Interactive, parsed.Mode);
        Assert.Equal(25, parsed.Configuration.Port);
        Assert.True(parsed.MappedFileRequested);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    [InlineData("-fh")]
    public void Help_is_recognised(string option)
    {
        Assert.Equal(BalanceMode.Help, Parse(option).Mode);
    }

    [Fact]
    public void Version_is_recognised()
    {
        Assert.Equal(BalanceMode.Version, Parse("--version").Mode);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("80abc")]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("-5")]
    public void Bad_ports_are_usage_errors(string port)
    {
        var args = port.StartsWith('-') ? new[] { "--", port, "x" } : new[] { port, "x" };
        var e = Fails(args);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Equal(port, e.Token);
        Assert.Contains($"invalid port [{port}]", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-t", "0")]
    [InlineData("-t", "abc")]
    [InlineData("-t", "1.5")]
    [InlineData("-t", "99999999999")]
    [InlineData("-T", "0")]
    [InlineData("-T", "-1")]
    [InlineData("-T", "x")]
    public void Timeouts_must_be_whole_seconds_of_at_least_one(string option, string value)
    {
        var e = Fails(option, value, "9000", "x");
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains($"[{option} {value}]", e.Message, StringComparison.Ordinal);
        Assert.Contains("whole seconds", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-x", "-x")]
    [InlineData("-fx", "-x")]
    [InlineData("--verbose", "--verbose")]
    [InlineData("-:", "-:")]
    public void Unknown_options_are_named(string option, string token)
    {
        var e = Fails(option, "9000", "x");
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Equal(token, e.Token);
        Assert.Contains($"unknown option [{token}]", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-t")]
    [InlineData("-b")]
    [InlineData("-c")]
    [InlineData("-ft")]
    public void An_option_without_its_value_is_named(string option)
    {
        var e = Fails(option);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("needs a value", e.Message, StringComparison.Ordinal);
        Assert.Contains("-" + option[^1], e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-b")]
    [InlineData("-B")]
    [InlineData("-c")]
    public void Empty_values_are_rejected(string option)
    {
        var e = Fails(option, "", "9000");
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_port_is_a_usage_error()
    {
        Assert.Equal(ExitCodes.Usage, Fails().ExitCode);
        Assert.Contains("port is missing", Fails("-f", "-b", "127.0.0.1").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_option_after_the_port_is_named()
    {
        var e = Fails("9000", "a", "-f");
        Assert.Equal("-f", e.Token);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("before the port", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shell_modes_take_no_channels()
    {
        var e = Fails("-c", "show", "9000", "backend");
        Assert.Equal("backend", e.Token);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Equal("extra", Fails("-i", "9000", "extra").Token);
    }

    [Theory]
    [InlineData("9000 !", "!")]
    [InlineData("9000 a ! % b", "%")]
    [InlineData("9000 a % !", "!")]
    public void A_separator_without_channels_is_named(string line, string token)
    {
        var args = line.Split(' ');
        var e = Assert.Throws<ConfigurationException>(() => CommandLineParser.Parse(args));
        Assert.Equal(ExitCodes.Unavailable, e.ExitCode);
        Assert.Equal(token, e.Token);
        Assert.Contains("no channels in group", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("host:abc")]
    [InlineData("host:80:x")]
    [InlineData("host:80:5:1:2")]
    [InlineData("host:80:5:300")]
    [InlineData("[::1")]
    [InlineData("[nothost]:80")]
    [InlineData(":80")]
    [InlineData("host:0")]
    public void Bad_channels_are_named_with_the_data_error_code(string channel)
    {
        var e = Fails("9000", "ok", channel);
        Assert.Equal(ExitCodes.DataError, e.ExitCode);
        Assert.Contains($"[{channel}]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_groups_is_unavailable()
    {
        var words = new List<string> { "9000" };
        for (var g = 0; g <= BalanceConfiguration.LimitMaxGroups; g++)
        {
            words.Add("h");
            words.Add("!");
        }

        var e = Fails([.. words]);
        Assert.Equal(ExitCodes.Unavailable, e.ExitCode);
        Assert.Contains("too many groups", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_is_off_unless_given_and_takes_its_value_either_way()
    {
        Assert.Null(Parse("9000", "backend").Configuration.MetricsEndpoint);
        Assert.Equal("127.0.0.1:9100", Parse("--metrics", "127.0.0.1:9100", "9000", "backend").Configuration.MetricsEndpoint!.ToString());
        Assert.Equal("[::1]:9100", Parse("-f", "--metrics=[::1]:9100", "-a", "9000", "backend").Configuration.MetricsEndpoint!.ToString());
        Assert.True(Parse("-f", "--metrics=[::1]:9100", "-a", "9000", "backend").Configuration.AutoDisable);
    }

    [Fact]
    public void Metrics_options_refuse_what_they_cannot_use()
    {
        Assert.Contains("--metrics needs a value", Fails("--metrics").Message, StringComparison.Ordinal);
        Assert.Contains("must not use the proxied port 9000", Fails("--metrics", "127.0.0.1:9000", "9000", "backend").Message, StringComparison.Ordinal);
        Assert.Contains("--version takes no value", Fails("--version=1").Message, StringComparison.Ordinal);
        Assert.Contains("unknown option [--metric]", Fails("--metric", "x", "9000").Message, StringComparison.Ordinal);
        Assert.Contains("takes only the port of a running instance", Fails("--metrics-file", "/tmp/x.prom", "9000", "backend").Message, StringComparison.Ordinal);
        Assert.Contains("takes only the port of a running instance", Fails("--metrics-file", "/tmp/x.prom", "-c", "show", "9000").Message, StringComparison.Ordinal);
        Assert.Contains("has an empty value", Fails("--metrics-file=", "9000").Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, Fails("--metrics", "127.0.0.1:9100", "-i", "9000").ExitCode);
    }

    [Fact]
    public void Metrics_file_reads_the_instance_endpoint_like_the_shell_modes()
    {
        var parsed = Parse("-b", "127.0.0.1", "--metrics-file", "/tmp/balance.prom", "9000");
        Assert.Equal(BalanceMode.MetricsFile, parsed.Mode);
        Assert.Equal("/tmp/balance.prom", parsed.MetricsFile);
        Assert.Equal("127.0.0.1", parsed.Configuration.BindAddress);
        Assert.Equal(9000, parsed.Configuration.Port);
    }
}
