using Balance.Configuration;
using Balance.Control;
using Balance.Tests.CommandLine;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Command errors the adversarial run found: a failed command in a <c>-c</c> script let the rest
/// run against a state the script did not mean (and exit 0), a 300-character <c>-b</c> name gave
/// "unexpected ArgumentOutOfRangeException", and a start with no channel at all served nobody.
/// </summary>
public sealed class CommandErrorTests : IDisposable
{
    private readonly SegmentDirectory segments = new();

    public void Dispose() => segments.Dispose();

    [Fact]
    public async Task A_failed_command_stops_the_script_and_the_exit_code_says_so()
    {
        using var instance = new LiveSegment(segments);
        instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);

        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "group 40; disable 0", instance.PortText]);

        Assert.Equal(ExitCodes.DataError, result.ExitCode);
        Assert.Equal("value out of range\n", result.Output);
        Assert.Equal(ChannelAdminState.Enabled, instance.Client.GetChannel(0, 0).AdminState);
    }

    [Fact]
    public async Task A_script_without_errors_still_exits_0()
    {
        using var instance = new LiveSegment(segments);
        instance.Client.Create(0, "127.0.0.1", 9101, enabled: true);

        var result = await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "group 0; disable 0; enable 0", instance.PortText]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(ChannelAdminState.Enabled, instance.Client.GetChannel(0, 0).AdminState);
    }

    [Theory]
    [InlineData("-b")]
    [InlineData("-B")]
    public async Task A_300_character_address_is_one_usage_line(string option)
    {
        var result = await BalanceExecutable.RunAsync(segments, ["-f", option, new string('a', 300), "9000", "127.0.0.1:9"]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith($"balance: option {option} value [", result.Error, StringComparison.Ordinal);
        Assert.Contains("at most 253 characters", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_start_without_any_channel_is_a_usage_error()
    {
        var result = await BalanceExecutable.RunAsync(segments, ["-f", "-b", "127.0.0.1", "9000"], timeout: TimeSpan.FromSeconds(20));

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith("balance: no channel after port [9000]", result.Error, StringComparison.Ordinal);
    }
}
