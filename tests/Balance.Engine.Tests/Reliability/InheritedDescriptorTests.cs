using System.Globalization;
using Balance.Tests.CommandLine;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Issue 20 item 4: a detached engine keeps none of its caller's descriptors, so a caller that
/// reads balance's output to its end (<c>out=$(balance ...)</c>) gets it. Before, the engine held
/// the caller's pipe on descriptor 7 and the read never ended.
/// </summary>
public sealed class InheritedDescriptorTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(25);

    [Fact]
    public async Task A_detached_start_returns_to_a_caller_that_reads_its_output_to_the_end()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        await using var backend = TestBackend.Start("A", BackendMode.Greet);
        using var segments = new SegmentDirectory();
        var port = Loopback.FreePort().ToString(CultureInfo.InvariantCulture);

        // The caller's stdout is also open on descriptor 7 (without close-on-exec) in balance.
        var start = BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", port, backend.Channel], runAs: ["/bin/bash", "-c", "exec 7>&1; \"$@\"", "bash"], timeout: Wait);
        try
        {
            var returned = await Task.WhenAny(start, Task.Delay(Wait)) == start;
            Assert.True(returned, "the caller's read of balance's output never ended: the engine kept the caller's pipe");
            var result = await start;
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.True(await Loopback.EventuallyAsync(async () => await Loopback.GreetingAsync(int.Parse(port, CultureInfo.InvariantCulture), TimeSpan.FromSeconds(3)) == "A", Wait));
        }
        finally
        {
            // The detached engine is no child of ours: stop it through its segment, which also ends the read above.
            await BalanceExecutable.RunAsync(segments, ["-b", "127.0.0.1", "-c", "kill", port]);
            await Task.WhenAny(start, Task.Delay(Wait));
        }
    }
}
