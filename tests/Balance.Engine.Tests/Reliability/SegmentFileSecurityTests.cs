using System.Diagnostics;
using System.Globalization;
using Balance.Configuration;
using Balance.Control;
using Balance.Tests.CommandLine;
using Xunit;

namespace Balance.Tests.Reliability;

/// <summary>
/// The segment directory is writable by every local user. Whatever another user plants there —
/// a link to a file of ours, a file of their own — must be refused, not followed or trusted.
/// </summary>
public sealed class SegmentFileSecurityTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("balance-sec-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void A_lock_file_that_is_a_link_is_refused_and_its_target_never_created()
    {
        if (!OperatingSystem.IsLinux() || !OwnedFile.IsChecked)
        {
            return; // The checked open is Linux only.
        }

        var victim = Path.Combine(directory, "victim");
        var lockPath = Path.Combine(directory, "x.seg.owner");
        File.CreateSymbolicLink(lockPath, victim);

        var e = Assert.Throws<ForeignFileException>(() => FileLock.TryAcquire(lockPath));
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(victim), "the link was followed and its target created");
    }

    [Fact]
    public void A_lock_file_linked_to_an_existing_file_leaves_that_file_alone()
    {
        if (!OperatingSystem.IsLinux() || !OwnedFile.IsChecked)
        {
            return;
        }

        var victim = Path.Combine(directory, "victim");
        File.WriteAllText(victim, "precious");
        var lockPath = Path.Combine(directory, "x.seg.ctl");
        File.CreateSymbolicLink(lockPath, victim);

        Assert.Throws<ForeignFileException>(() => FileLock.Acquire(lockPath, TimeSpan.FromMilliseconds(50)));
        Assert.Equal("precious", File.ReadAllText(victim));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(victim));
    }

    [Fact]
    public void A_segment_reached_through_a_link_is_refused_with_a_clear_reason()
    {
        if (!OperatingSystem.IsLinux() || !OwnedFile.IsChecked)
        {
            return;
        }

        var real = new SegmentName("127.0.0.1", 9, Path.Combine(directory, "real.seg"));
        using (ControlSegment.Create(real, new BalanceConfiguration { Port = 9, MaxGroups = 1, MaxChannelsPerGroup = 1 }))
        {
        }

        var planted = new SegmentName("127.0.0.1", 9, Path.Combine(directory, "planted.seg"));
        File.CreateSymbolicLink(planted.Path, real.Path);
        var e = Assert.Throws<ControlException>(() => ControlSegment.Open(planted));
        Assert.Equal(ControlError.PermissionDenied, e.Error);
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Creating_a_segment_replaces_a_planted_link_instead_of_writing_through_it()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // Creating links needs privileges on Windows.
        }

        var victim = Path.Combine(directory, "victim");
        File.WriteAllText(victim, "precious");
        var name = new SegmentName("127.0.0.1", 9, Path.Combine(directory, "x.seg"));
        File.CreateSymbolicLink(name.Path, victim);

        using (ControlSegment.Create(name, new BalanceConfiguration { Port = 9, MaxGroups = 1, MaxChannelsPerGroup = 1 }))
        {
        }

        Assert.Equal("precious", File.ReadAllText(victim));
        Assert.Null(new FileInfo(name.Path).LinkTarget);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(name.Path));
    }

    [Fact]
    public void A_segment_owned_by_another_user_is_refused_even_for_root()
    {
        if (!OperatingSystem.IsLinux() || !OwnedFile.IsChecked || Environment.UserName != "root")
        {
            return; // Giving a file away needs root; CI runs as root.
        }

        var name = new SegmentName("127.0.0.1", 9, Path.Combine(directory, "theirs.seg"));
        using (ControlSegment.Create(name, new BalanceConfiguration { Port = 9, MaxGroups = 1, MaxChannelsPerGroup = 1 }))
        {
        }

        Run("/bin/chown", "65534:65534", name.Path);
        var e = Assert.Throws<ControlException>(() => ControlSegment.Open(name));
        Assert.Equal(ControlError.PermissionDenied, e.Error);
        Assert.Contains("belongs to user id 65534", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_engine_refuses_to_start_on_an_owner_lock_planted_by_another_user()
    {
        if (!OperatingSystem.IsLinux() || !OwnedFile.IsChecked || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            return; // Acting as a second user needs root and setpriv; CI has both.
        }

        using var segments = new SegmentDirectory();
        File.SetUnixFileMode(segments.Path, (UnixFileMode)Convert.ToInt32("1777", 8)); // like /dev/shm
        var port = Loopback.FreePort();
        var name = segments.NameFor("127.0.0.1", port);
        var victim = Path.Combine(directory, "victim");
        Run("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/ln", "-s", victim, name.OwnerLockPath);
        Assert.NotNull(new FileInfo(name.OwnerLockPath).LinkTarget);

        var result = await BalanceExecutable.RunAsync(segments, ["-f", "-b", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture), "127.0.0.1:9"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("balance: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("symbolic link", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(victim), "the engine followed the planted link");
        Assert.False(EngineChild.Accepts(port));
    }

    private static void Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(10_000), program + " hung");
        Assert.True(p.ExitCode == 0, $"{program} failed: {error}");
    }
}
