using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using Balance.Control;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// Truncating the live segment (owner or root) crashed the engine: a shared mapping of a file that
/// shrank faults on the next access (SIGBUS, an AccessViolationException no code can catch). The
/// engine now keeps its segment in sealed memory; the name in the segment directory holds a small
/// locator record that it restores when someone truncates it.
/// </summary>
public sealed class SegmentTruncationTests
{
    [Fact]
    public async Task Truncating_the_segment_never_crashes_the_engine_which_serves_on_restores_the_name_and_reports_it()
    {
        if (!OperatingSystem.IsLinux() || !OwnedFile.IsChecked)
        {
            return; // Sealed memory is Linux only.
        }

        await using var backend = TestBackend.Start("A");
        using var engine = await EngineChild.StartAsync([backend.Channel]);
        var endpoint = new IPEndPoint(IPAddress.Loopback, engine.Port);
        await Eventually.TrueAsync(() => new FileInfo(engine.Name.Path).Length == SegmentLocator.Size, "the locator is published");
        var record = await File.ReadAllBytesAsync(engine.Name.Path);
        var descriptor = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(12));
        Assert.Equal(engine.Pid, BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(8)));

        // The memory itself cannot shrink, not even for root.
        var memory = string.Create(CultureInfo.InvariantCulture, $"/proc/{engine.Pid}/fd/{descriptor}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(memory));
        using (var direct = new FileStream(memory, FileMode.Open, FileAccess.ReadWrite))
        {
            Assert.Throws<UnauthorizedAccessException>(() => direct.SetLength(0)); // EPERM: sealed
        }

        // What `truncate -s 0 <segment>` does.
        using (var name = new FileStream(engine.Name.Path, FileMode.Open, FileAccess.Write))
        {
            name.SetLength(0);
        }

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("A", await LoopbackClient.GreetingAsync(endpoint));
        }

        Assert.False(engine.HasExited, "the engine died: " + engine.Error);
        await Eventually.TrueAsync(() => new FileInfo(engine.Name.Path).Length == SegmentLocator.Size, "the engine restores the name");
        var show = await engine.ControlAsync("show");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("totalc", show.Output, StringComparison.Ordinal);
        Assert.Single(engine.Error.Split('\n'), l => l.Contains("was truncated or overwritten; restored", StringComparison.Ordinal));
    }
}
