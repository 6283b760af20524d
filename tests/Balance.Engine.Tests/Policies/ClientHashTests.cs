using System.Net;
using Balance.Policies;
using Xunit;

namespace Balance.Tests.Policies;

public class ClientHashTests
{
    [Theory]
    [InlineData("::ffff:127.0.0.1", 3231995906u)]
    [InlineData("::1", 4001564289u)]
    [InlineData("::ffff:10.0.0.1", 2834952471u)]
    [InlineData("2001:db8::1", 745050989u)]
    [InlineData("2001:db8::2", 451647982u)]
    public void Matches_the_reference_fold_values(string address, uint expected)
    {
        Assert.Equal(expected, ClientHash.Compute(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("127.0.0.1", "::ffff:127.0.0.1")]
    [InlineData("10.0.0.1", "::ffff:10.0.0.1")]
    public void An_IPv4_client_hashes_like_its_mapped_IPv6_form(string v4, string mapped)
    {
        Assert.Equal(ClientHash.Compute(IPAddress.Parse(mapped)), ClientHash.Compute(IPAddress.Parse(v4)));
    }

    [Fact]
    public void Different_IPv4_clients_get_different_hashes()
    {
        var hashes = Enumerable.Range(1, 16).Select(i => ClientHash.Compute(IPAddress.Parse($"127.0.0.{i}"))).Distinct().Count();
        Assert.Equal(16, hashes);
    }

    [Fact]
    public void The_scope_id_is_part_of_the_hash()
    {
        var plain = ClientHash.Compute(IPAddress.Parse("fe80::1"));
        var scoped = ClientHash.Compute(IPAddress.Parse("fe80::1%2"));
        Assert.NotEqual(plain, scoped);
    }

    [Fact]
    public void Computing_a_hash_allocates_nothing()
    {
        var v4 = IPAddress.Parse("192.0.2.7");
        var v6 = IPAddress.Parse("2001:db8::7");
        ClientHash.Compute(v4);
        ClientHash.Compute(v6);
        var before = GC.GetAllocatedBytesForCurrentThread();
        uint sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            sum += ClientHash.Compute(v4) + ClientHash.Compute(v6);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0u, sum);
    }
}
