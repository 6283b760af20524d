using Balance.Control;
using Xunit;

namespace Balance.Tests.Control;

public class SegmentNameTests
{
    [Fact]
    public void Localhost_and_its_literal_address_name_the_same_segment()
    {
        Assert.Equal(SegmentName.For("127.0.0.1", 9000).Path, SegmentName.For("localhost", 9000).Path);
    }

    [Fact]
    public void No_bind_address_is_the_wildcard()
    {
        Assert.Equal("0.0.0.0", SegmentName.For(null, 9000).NormalizedAddress);
        Assert.Equal("::", SegmentName.For(null, 9000, ipv6: true).NormalizedAddress);
    }

    [Fact]
    public void File_name_round_trips()
    {
        var name = SegmentName.For("::1", 8080);
        var back = SegmentName.TryParseFile(name.Path);
        Assert.NotNull(back);
        Assert.Equal(8080, back.Port);
        Assert.Equal("::1", back.NormalizedAddress);
    }
}
