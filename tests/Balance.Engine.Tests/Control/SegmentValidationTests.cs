using System.Diagnostics;
using Balance.Configuration;
using Balance.Control;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Control;

/// <summary>A control client must survive any file that sits where a segment should be.</summary>
public class SegmentValidationTests
{
    [Fact]
    public void Missing_segment_means_not_running()
    {
        var name = SegmentName.FromNormalized("127.0.0.1", 9);
        var e = Assert.Throws<ControlException>(() => ControlSegment.Open(name));
        Assert.Equal(ControlError.NotRunning, e.Error);
        Assert.Contains("127.0.0.1:9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Segment_is_readable_by_its_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Windows has no Unix modes; the segment there is protected by its ACL.
        }

        using var instance = new FakeInstance();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(instance.Name.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(instance.Name.OwnerLockPath));
    }

    [Fact]
    public void Another_user_cannot_read_the_segment()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return; // Only root can act as a second user; CI runs as root.
        }

        using var instance = new FakeInstance();
        var psi = new ProcessStartInfo("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/cat", instance.Name.Path])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var cat = Process.Start(psi)!;
        var error = cat.StandardError.ReadToEnd();
        cat.StandardOutput.ReadToEnd();
        Assert.True(cat.WaitForExit(10_000));

        Assert.NotEqual(0, cat.ExitCode);
        Assert.Contains("Permission denied", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_layout_version_is_named_in_the_error()
    {
        using var instance = new FakeInstance();
        instance.Segment.Header.LayoutVersion = 99;

        var e = Assert.Throws<ControlException>(instance.OpenClient);

        Assert.Equal(ControlError.IncompatibleLayout, e.Error);
        Assert.Contains("layout 99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_segment_whose_header_is_still_being_written_is_not_running_yet()
    {
        using var instance = new FakeInstance();
        instance.Segment.Header.Magic = 0;
        instance.Segment.Header.OwnerPid = 0;

        var e = Assert.Throws<ControlException>(instance.OpenClient);

        Assert.Equal(ControlError.NotRunning, e.Error);
    }

    [Fact]
    public void Truncated_segment_is_refused()
    {
        using var instance = new FakeInstance();
        using (var f = new FileStream(instance.Name.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            f.SetLength(SegmentLayout.HeaderSize + 10);
        }

        var e = Assert.Throws<ControlException>(instance.OpenClient);
        Assert.Equal(ControlError.Corrupt, e.Error);
    }

    [Fact]
    public void Random_files_never_crash_the_reader()
    {
        var random = new Random(1234);
        var name = SegmentName.FromNormalized("127.0.0.1", 11);
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var bytes = new byte[random.Next(0, 4096)];
                random.NextBytes(bytes);
                if (i % 3 == 0 && bytes.Length >= 8)
                {
                    // Half of the time, get past the signature so the deeper checks are reached.
                    BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), SegmentLayout.Magic);
                    BitConverter.TryWriteBytes(bytes.AsSpan(4, 4), SegmentLayout.LayoutVersion);
                }

                File.WriteAllBytes(name.Path, bytes);
                var e = Assert.Throws<ControlException>(() => ControlSegment.Open(name).Dispose());
                Assert.True(e.Error is ControlError.Corrupt or ControlError.IncompatibleLayout or ControlError.NotRunning, e.Message);
            }
        }
        finally
        {
            File.Delete(name.Path);
        }
    }

    [Fact]
    public void Every_header_field_mutated_is_either_refused_or_safe_to_use()
    {
        var random = new Random(42);
        for (var offset = 0; offset < 128; offset += 4)
        {
            using var instance = new FakeInstance(maxGroups: 2, maxChannels: 2, eventCapacity: 4);
            using (var setup = instance.OpenClient())
            {
                setup.Create(0, "127.0.0.1", 1, enabled: true);
            }

            var value = offset % 8 == 0 ? int.MaxValue : random.Next(int.MinValue, int.MaxValue);
            using (var f = new FileStream(instance.Name.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                f.Position = offset;
                f.Write(BitConverter.GetBytes(value));
            }

            try
            {
                using var client = instance.OpenClient();
                client.Snapshot();
                long cursor = -5;
                client.ReadEvents(ref cursor);
            }
            catch (ControlException)
            {
                // Refusing is fine; crashing or reading out of bounds is not.
            }
        }
    }

    [Fact]
    public void Every_group_and_channel_field_mutated_is_safe_for_readers_and_the_walk()
    {
        var random = new Random(7);
        var groupStart = (int)SegmentLayout.GroupsOffset;
        var channelStart = (int)SegmentLayout.ChannelsOffset(2);
        var offsets = Enumerable.Range(0, SegmentLayout.GroupRecordSize / 4).Select(i => groupStart + (4 * i))
            .Concat(Enumerable.Range(0, SegmentLayout.ChannelRecordSize / 4).Select(i => channelStart + (4 * i)))
            .Append(256).Append(260);
        foreach (var offset in offsets)
        {
            using var instance = new FakeInstance(maxGroups: 2, maxChannels: 2, eventCapacity: 4);
            instance.AddChannel(0, "127.0.0.1", 1);
            instance.AddChannel(0, "127.0.0.1", 2);
            var value = offset % 8 == 0 ? int.MaxValue : random.Next(int.MinValue, int.MaxValue);
            using (var f = new FileStream(instance.Name.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                f.Position = offset;
                f.Write(BitConverter.GetBytes(value));
            }

            try
            {
                using var client = instance.OpenClient();
                client.Snapshot();
                var choice = new Balance.Policies.ChannelSelector(instance.Segment).Select(0, (uint)value, hashFailover: true, debug: null);
                Assert.True(!choice.Found || choice.Channel is 0 or 1, $"offset {offset}: picked {choice.Channel}");
            }
            catch (ControlException)
            {
                // Refusing is fine; crashing or reading out of bounds is not.
            }
        }
    }

    [Fact]
    public void Events_are_read_in_order_and_overwritten_ones_skipped()
    {
        using var instance = new FakeInstance(eventCapacity: 4);
        using var client = instance.OpenClient();
        for (var i = 0; i < 6; i++)
        {
            EventRing.Publish(instance.Segment, EngineEventKind.Failover, 0, i, $"event {i}");
        }

        long cursor = 0;
        var first = client.ReadEvents(ref cursor);
        EventRing.Publish(instance.Segment, EngineEventKind.AutoDisabled, 1, 2, new string('x', 500));
        var second = client.ReadEvents(ref cursor);

        Assert.Equal(["event 2", "event 3", "event 4", "event 5"], first.Select(e => e.Message));
        Assert.Equal(7, cursor);
        var last = Assert.Single(second);
        Assert.Equal(EngineEventKind.AutoDisabled, last.Kind);
        Assert.Equal(EventRecord.TextCapacity, last.Message.Length);
    }

    [Fact]
    public void Concurrent_publishers_lose_no_sequence_number()
    {
        using var instance = new FakeInstance(eventCapacity: 4096);
        Parallel.For(0, 4, t =>
        {
            for (var i = 0; i < 500; i++)
            {
                EventRing.Publish(instance.Segment, EngineEventKind.ConnectFailed, t, i, "x");
            }
        });

        long cursor = 0;
        using var client = instance.OpenClient();
        var events = client.ReadEvents(ref cursor);

        Assert.Equal(2000, events.Count);
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task A_reader_never_sees_a_torn_address_while_it_is_reassigned()
    {
        using var instance = new FakeInstance();
        using var client = instance.OpenClient();
        client.Create(0, "127.0.0.1", 1111);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var writer = Task.Run(() =>
        {
            var flip = false;
            while (!stop.IsCancellationRequested)
            {
                ChannelAddress.Write(instance.Segment, 0, 0, flip ? "::1" : "127.0.0.1", flip ? System.Net.IPAddress.IPv6Loopback : System.Net.IPAddress.Loopback, flip ? 2222 : 1111);
                flip = !flip;

                // Leave the reader a window now and then, as real assigns (rare, under a lock) do.
                Thread.SpinWait(20);
            }
        });

        var reads = 0;
        try
        {
            while (!writer.IsCompleted)
            {
                var ep = ChannelAddress.Read(instance.Segment, 0, 0, out var version);
                Assert.Equal(0, version & 1);
                var ok = (ep.Address.Equals(System.Net.IPAddress.Loopback) && ep.Port == 1111)
                    || (ep.Address.Equals(System.Net.IPAddress.IPv6Loopback) && ep.Port == 2222);
                Assert.True(ok, $"torn read {ep}");
                reads++;
            }
        }
        finally
        {
            // The mapping must outlive the writer, whatever the assertions did.
            await stop.CancelAsync();
            await writer;
        }

        Assert.True(reads > 0);
    }
}
