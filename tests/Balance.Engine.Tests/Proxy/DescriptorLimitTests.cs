using Balance.Proxy;
using Xunit;

namespace Balance.Tests.Proxy;

public class DescriptorLimitTests
{
    [Theory]
    [InlineData(20000L, 9936)]
    [InlineData(1024L, 448)]
    [InlineData(100L, 16)]
    public void Sessions_take_two_descriptors_each_below_a_reserve(long limit, int expected)
    {
        Assert.Equal(expected, DescriptorLimit.MaxSessions(limit));
    }

    [Theory]
    [InlineData(20000L, 64, 9872)]
    [InlineData(1024L, 16, 432)]
    [InlineData(100L, 1, 16)]
    public void Splice_pipes_come_out_of_the_session_budget(long limit, int pipes, int sessions)
    {
        Assert.Equal(pipes, DescriptorLimit.SplicePipes(limit));
        Assert.Equal(sessions, DescriptorLimit.MaxSessions(limit, DescriptorLimit.SplicePipes(limit)));
        Assert.Equal(0, DescriptorLimit.SplicePipes(null));
    }

    [Fact]
    public void No_known_limit_means_no_session_cap()
    {
        Assert.Equal(int.MaxValue, DescriptorLimit.MaxSessions(null));
    }

    [Fact]
    public void The_soft_limit_is_raised_to_the_hard_limit_on_Linux()
    {
        var limit = DescriptorLimit.RaiseSoftLimit();
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(limit);
            return;
        }

        var line = File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(fields[1], fields[0]);
        Assert.Equal(fields[0], limit?.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
