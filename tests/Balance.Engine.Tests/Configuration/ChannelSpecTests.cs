using Balance.Configuration;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Balance.Tests.Configuration;

public class ChannelSpecTests
{
    [Theory]
    [InlineData("backend", 9000, "backend", 9000, 0)]
    [InlineData("backend:81", 9000, "backend", 81, 0)]
    [InlineData("backend::5", 9000, "backend", 9000, 5)]
    [InlineData("10.0.0.1:81:3", 9000, "10.0.0.1", 81, 3)]
    [InlineData("[::1]:9101:2", 9000, "::1", 9101, 2)]
    [InlineData("[::1]", 9000, "::1", 9000, 0)]
    [InlineData("::1", 9000, "::1", 9000, 0)]
    [InlineData("fe80::1%1", 9000, "fe80::1%1", 9000, 0)]
    [InlineData("a::5", 9000, "a", 9000, 5)]
    [InlineData("1::2", 9000, "1", 9000, 2)]
    [InlineData("2001:db8::1", 9000, "2001:db8::1", 9000, 0)]
    public void Parses_the_original_forms_and_ipv6(string token, int listen, string host, int port, int maxc)
    {
        var spec = ChannelSpec.Parse(token, listen);
        Assert.Equal(new ChannelSpec(host, port, maxc), spec);
    }

    [Theory]
    [InlineData("backend:81:0:3", "backend", 81, 0, 3)]
    [InlineData("backend:81::0", "backend", 81, 0, 0)]
    [InlineData("backend:::256", "backend", 9000, 0, 256)]
    [InlineData("10.0.0.1:81:3:2", "10.0.0.1", 81, 3, 2)]
    [InlineData("[::1]:9101:2:5", "::1", 9101, 2, 5)]
    [InlineData("backend:81:4:", "backend", 81, 4, 1)]
    [InlineData("fe80::1:2:3", "fe80::1:2:3", 9000, 0, 1)]
    public void A_fourth_field_is_the_weight_and_an_ipv6_literal_stays_whole(string token, string host, int port, int maxc, int weight)
    {
        Assert.Equal(new ChannelSpec(host, port, maxc) { Weight = weight }, ChannelSpec.Parse(token, 9000));
    }

    [Fact]
    public void Service_names_are_ports()
    {
        if (!File.Exists("/etc/services"))
        {
            return; // No services database on this system: nothing to look up.
        }

        Assert.Equal(80, ChannelSpec.Parse("web:http", 9000).Port);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(":80", "host is missing")]
    [InlineData("host:0", "'0' is not a port")]
    [InlineData("host:70000", "'70000' is not a port")]
    [InlineData("host:80abc", "'80abc' is not a port")]
    [InlineData("host:80:-1", "'-1' is not a connection limit")]
    [InlineData("host:80:x", "'x' is not a connection limit")]
    [InlineData("host:80:1:2:3", "too many ':'")]
    [InlineData("host:80:1:257", "'257' is not a weight")]
    [InlineData("host:80:1:-1", "'-1' is not a weight")]
    [InlineData("host:80::x", "'x' is not a weight")]
    [InlineData("[::1", "closing ']'")]
    [InlineData("[backend]:80", "not an IPv6 address")]
    [InlineData("[::1]x", "only ':port[:maxc[:weight]]' may follow")]
    public void Bad_tokens_are_named_with_the_reason(string token, string reason)
    {
        var e = Assert.Throws<ConfigurationException>(() => ChannelSpec.Parse(token, 9000));
        Assert.Contains($"[{token}]", e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Equal(token, e.Token);
        Assert.Equal(ExitCodes.DataError, e.ExitCode);
    }

    [Fact]
    public void Groups_close_on_separators_and_the_last_is_round_robin()
    {
        var groups = GroupSpec.ParseList(["a", "b", "%", "c", "!", "d"], 9000);

        Assert.Equal([GroupType.Hash, GroupType.RoundRobin, GroupType.RoundRobin], groups.Select(g => g.Type));
        Assert.Equal(["a", "b"], groups[0].Channels.Select(c => c.Host));
        Assert.Equal(["d"], groups[2].Channels.Select(c => c.Host));
    }

    [Fact]
    public void A_trailing_percent_makes_the_last_group_a_hash_group()
    {
        var groups = GroupSpec.ParseList(["a", "%"], 9000);
        Assert.Equal(GroupType.Hash, Assert.Single(groups).Type);
    }

    [Fact]
    public void No_words_is_one_empty_group_and_a_bare_separator_is_an_error()
    {
        Assert.Empty(Assert.Single(GroupSpec.ParseList([], 9000)).Channels);
        var e = Assert.Throws<ConfigurationException>(() => GroupSpec.ParseList(["a", "!", "!"], 9000));
        Assert.Equal(ExitCodes.Unavailable, e.ExitCode);
        Assert.Contains("no channels in group 1", e.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 2000)]
    public bool Any_text_is_a_channel_or_a_named_error(string token)
    {
        try
        {
            var spec = ChannelSpec.Parse(token ?? string.Empty, 9000);
            return spec.Host.Length > 0 && spec.Port is >= 1 and <= 65535 && spec.MaxConnections >= 0;
        }
        catch (ConfigurationException e)
        {
            return e.Message.StartsWith("invalid channel [", StringComparison.Ordinal);
        }
    }

    [Property(MaxTest = 500)]
    public Property Any_word_list_is_groups_or_a_named_error()
    {
        var words = Gen.Elements("a", "b:1", "!", "%", "[::1]:2:3", "x:y", "", ":", "c::4").ArrayOf();
        return Prop.ForAll(words.ToArbitrary(), list =>
        {
            try
            {
                var groups = GroupSpec.ParseList(list, 9000);
                return groups.Count >= 1;
            }
            catch (ConfigurationException e)
            {
                return e.Message.Length > 0 && e.ExitCode != 0;
            }
        });
    }
}
