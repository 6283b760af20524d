using System.Net;
using Balance.Policies;
using Xunit;

namespace Balance.Tests.Policies;

/// <summary>The original's hash alone: the client hash modulo every channel, usable or not.</summary>
public class HashPolicyTests
{
    private static readonly HashPolicy Policy = HashPolicy.Instance;

    [Theory]
    [InlineData("127.0.0.1", 3, 2)] // 3231995906 mod 3
    [InlineData("::1", 5, 4)] // 4001564289 mod 5
    [InlineData("::1", 3, 0)]
    public void Picks_the_original_hash_modulo_the_channel_count(string client, int count, int expected)
    {
        var channels = RoundRobinPolicyTests.Channels(Enumerable.Repeat(true, count).ToArray());
        var position = 0;
        var context = new PickContext(ClientHash.Compute(IPAddress.Parse(client)), ref position);
        Assert.Equal(expected, Policy.Pick(channels, ref context));
    }

    [Fact]
    public void Counts_unusable_channels_so_a_client_keeps_its_channel()
    {
        var position = 0;
        var context = new PickContext(4, ref position);
        Assert.Equal(1, Policy.Pick(RoundRobinPolicyTests.Channels(false, false, true), ref context));
    }

    [Fact]
    public void Moves_the_shared_position_past_the_channel_taken()
    {
        var position = 0;
        var context = new PickContext(7, ref position);
        Policy.Reserved(2, 3, ref context);
        Assert.Equal(0, position);
        Policy.Reserved(0, 3, ref context);
        Assert.Equal(1, position);
    }

    [Fact]
    public void Scans_the_group_only_with_hash_failover()
    {
        Assert.False(Policy.ScansGroup(hashFailover: false));
        Assert.True(Policy.ScansGroup(hashFailover: true));
    }

    [Fact]
    public void An_empty_group_offers_nothing_instead_of_dividing_by_zero()
    {
        var position = 0;
        var context = new PickContext(7, ref position);
        Assert.Equal(-1, Policy.Pick([], ref context));
    }

    [Fact]
    public void Its_trace_is_the_original_debug_output()
    {
        using var debug = new StringWriter();
        Policy.Trace(debug, PickStep.Picked, 0, 2, 3, 3231995906u);
        Policy.Trace(debug, PickStep.Scanning, 0, 2, 3, 3231995906u);
        Policy.Trace(debug, PickStep.ScanReserved, 0, 0, 3, 3231995906u);
        Assert.Equal(
            "HASH-method: fold returns 3231995906\nmodulo 3 gives 2\nchannel disabled - hashfailover.\nchannel choosen: 0 in group 0.\n",
            debug.ToString().ReplaceLineEndings("\n"));
    }
}

/// <summary>The catalog: ids are stable, unknown ids are named, the mask names what this build knows.</summary>
public class PolicyCatalogTests
{
    [Fact]
    public void The_original_two_keep_their_group_type_values_as_ids()
    {
        Assert.Equal((int)Balance.Configuration.GroupType.RoundRobin, PolicyCatalog.RoundRobin);
        Assert.Equal((int)Balance.Configuration.GroupType.Hash, PolicyCatalog.Hash);
        Assert.Same(RoundRobinPolicy.Instance, PolicyCatalog.Find(PolicyCatalog.RoundRobin));
        Assert.Same(HashPolicy.Instance, PolicyCatalog.Find(PolicyCatalog.Hash));
    }

    [Fact]
    public void Every_group_type_is_the_catalog_policy_of_the_same_id_and_name()
    {
        var types = Enum.GetValues<Balance.Configuration.GroupType>();
        Assert.Equal(PolicyCatalog.All.Count, types.Length);
        foreach (var type in types)
        {
            Assert.Equal(type.ToString(), PolicyCatalog.Find((int)type)!.Name);
        }
    }

    [Fact]
    public void An_unknown_id_is_named_by_its_number()
    {
        Assert.Null(PolicyCatalog.Find(9));
        Assert.Null(PolicyCatalog.Find(-1));
        Assert.Equal("policy 9", PolicyCatalog.NameOf(9));
        Assert.Equal("9", PolicyCatalog.ShowNameOf(9));
    }
}
