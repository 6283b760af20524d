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

    [Theory]
    [InlineData(1024L, 373, 0, 0, 261)] // 301 inherited and the runtime's: counted, not assumed
    [InlineData(1024L, 373, 100, 0, 261)] // sessions open do not count as others
    [InlineData(120L, 75, 0, 0, 6)] // a limit lowered at run time: the reserve shrinks with it
    [InlineData(50L, 75, 0, 0, 0)] // below what is open: no session fits
    [InlineData(20000L, 70, 0, 128, 9837)]
    public void The_session_cap_comes_from_what_is_open(long limit, int open, int sessions, int pipeEnds, int expected)
    {
        Assert.Equal(expected, DescriptorLimit.SessionCap(limit, open + (2 * sessions) + pipeEnds, sessions, pipeEnds));
    }

    [Fact]
    public void Open_descriptors_are_counted_without_a_new_descriptor()
    {
        using var counter = OpenDescriptors.TryOpen();
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(counter);
            return;
        }

        // Other tests of this process open and close descriptors meanwhile: 64 more, give or take 20.
        var before = counter!.Count();
        var extra = Enumerable.Range(0, 64).Select(_ => File.OpenRead("/proc/self/status")).ToList();
        try
        {
            Assert.InRange(counter.Count() - before, 44, 84);
        }
        finally
        {
            extra.ForEach(f => f.Dispose());
        }
    }
}
