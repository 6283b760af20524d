using Balance.Configuration;
using Balance.Control;
using Xunit;

namespace Balance.Tests.Configuration;

/// <summary>The layout file format alone: what it reads, what it writes, and the one line every bad file gets.</summary>
public class LayoutFileTests
{
    private const string Example =
        "balance-layout 1\n" +
        "# saved from 127.0.0.1:8080 by Balance test; the format is in docs/layout-file.md\n" +
        "group 0 rr\n" +
        "channel 127.0.0.1:8081 maxc 0 weight 1 enabled\n" +
        "channel web2.example:80 maxc 10 weight 3 disabled check-interval 500 check-port 8443\n" +
        "group 2 maglev\n" +
        "channel [2001:db8::1]:80 maxc 0 weight 0 draining check-rise 4 check-fall 5\n" +
        "end 3 channels\n";

    [Fact]
    public void Reads_every_field_and_keeps_group_numbers_with_their_gaps()
    {
        var layout = LayoutFile.Parse(Example, "x.layout");
        Assert.Equal(3, layout.Groups.Count);
        Assert.Equal(GroupType.RoundRobin, layout.Groups[0].Type);
        Assert.Empty(layout.Groups[1].Channels);
        Assert.Equal((GroupType)4, layout.Groups[2].Type);
        var web2 = layout.Groups[0].Channels[1];
        Assert.Equal(("web2.example", 80, 10, 3, ChannelAdminState.Disabled), (web2.Host, web2.Port, web2.MaxConnections, web2.Weight, web2.AdminState));
        Assert.Equal(new ChannelCheckOverrides(500, 0, 0, 8443), web2.CheckOverrides);
        var v6 = layout.Groups[2].Channels[0];
        Assert.Equal(("2001:db8::1", 0, ChannelAdminState.Draining), (v6.Host, v6.Weight, v6.AdminState));
        Assert.Equal(new ChannelCheckOverrides(0, 4, 5, 0), v6.CheckOverrides);
        Assert.Equal(3, layout.ChannelCount);
    }

    [Fact]
    public void Writing_what_was_read_gives_the_same_bytes()
    {
        var layout = LayoutFile.Parse(Example, "x.layout");
        var text = LayoutFile.Format(layout, "127.0.0.1:8080");
        Assert.Equal(Body(Example), Body(text));
        Assert.StartsWith("balance-layout 1\n# saved from 127.0.0.1:8080 by Balance ", text, StringComparison.Ordinal);
        Assert.Equal(text, LayoutFile.Format(LayoutFile.Parse(text, "y"), "127.0.0.1:8080"));
    }

    [Fact]
    public void A_hand_written_file_may_leave_fields_out_and_add_comments_and_blank_lines()
    {
        var layout = LayoutFile.Parse("balance-layout 1\n\n  # web tier\ngroup 0 hash\r\n\tchannel 10.0.0.1:80\r\nend 1 channels\n", "x");
        var c = Assert.Single(layout.Groups[0].Channels);
        Assert.Equal((0, 1, ChannelAdminState.Enabled), (c.MaxConnections, c.Weight, c.AdminState));
        Assert.Equal(GroupType.Hash, layout.Groups[0].Type);
    }

    public static TheoryData<string, int, string> BadFiles => new()
    {
        { "balance-layout 2\ngroup 0 rr\nchannel a:1\nend 1 channels\n", 1, "layout version [2] is not one this Balance reads (it reads version 1)" },
        { "GRP Type  #   S\n", 1, "not a Balance layout file" },
        { string.Empty, 1, "the file is empty" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 maxc 0 wei", 3, "unknown word [wei]" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 maxc 0 weight 1 enabled\nchannel 10.0.0.2:80 maxc", 4, "[maxc] needs a value, e.g. maxc 1" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 maxc 0 weight 1 enabled\n", 3, "the file ends here without its end line: it is truncated" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80\nchannel 10.0.0.2:80\nend 3 channels\n", 5, "the end line counts 3 channels but the file holds 2" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 wieght 3\nend 1 channels\n", 3, "unknown word [wieght]" },
        { "balance-layout 1\ngroup 0 rr\nchanel 10.0.0.1:80\nend 1 channels\n", 3, "unknown record [chanel]" },
        { "balance-layout 1\ngroup 0 fastest\nchannel 10.0.0.1:80\nend 1 channels\n", 2, "unknown policy [fastest]: use one of rr, hash, wrr, leastconn, maglev" },
        { "balance-layout 1\ngroup 0 rr\nchannel web1\nend 1 channels\n", 3, "bad address [web1]: the port is missing" },
        { "balance-layout 1\ngroup 0 rr\nchannel 2001:db8::1:80\nend 1 channels\n", 3, "bad address [2001:db8::1:80]" },
        { "balance-layout 1\ngroup 0 rr\nchannel [zz]:80\nend 1 channels\n", 3, "bad address [[zz]:80]" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:70000\nend 1 channels\n", 3, "port [70000] is out of range: give 1 to 65535" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80\ngroup 0 hash\nchannel 10.0.0.2:80\nend 2 channels\n", 4, "group 0 appears twice (first at line 2)" },
        { "balance-layout 1\ngroup 1 rr\nchannel 10.0.0.1:80\ngroup 0 hash\nchannel 10.0.0.2:80\nend 2 channels\n", 4, "group 0 after group 1" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 weight 2 weight 3\nend 1 channels\n", 3, "[weight] given twice" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 enabled disabled\nend 1 channels\n", 3, "a second state [disabled]" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 weight 300\nend 1 channels\n", 3, "weight [300] is out of range: give 0 to 256" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 maxc -1\nend 1 channels\n", 3, "maxc [-1] is out of range" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 check-interval 5\nend 1 channels\n", 3, "check-interval [5] is out of range" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80 check-rise 101\nend 1 channels\n", 3, "check-rise [101] is out of range" },
        { "balance-layout 1\ngroup 1024 rr\nchannel 10.0.0.1:80\nend 1 channels\n", 2, "group number [1024] is out of range: give 0 to 1023" },
        { "balance-layout 1\nchannel 10.0.0.1:80\nend 1 channels\n", 2, "a channel line before any group line" },
        { "balance-layout 1\ngroup 0 rr\ngroup 1 rr\nchannel 10.0.0.1:80\nend 1 channels\n", 2, "group 0 has no channel lines" },
        { "balance-layout 1\ngroup 0 rr\nchannel 10.0.0.1:80\nend 1 channels\ngroup 1 rr\n", 5, "text after the end line" },
        { "balance-layout 1\nend 0 channels\n", 3, "the layout holds no channel" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Every_bad_file_gets_one_line_naming_the_file_the_line_and_the_problem(string text, int line, string problem)
    {
        var e = Assert.Throws<ConfigurationException>(() => LayoutFile.Parse(text, "/etc/balance/web.layout"));
        Assert.StartsWith($"layout file /etc/balance/web.layout line {line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(ExitCodes.DataError, e.ExitCode);
    }

    [Fact]
    public void Load_names_the_line_of_a_host_that_does_not_resolve_and_a_missing_file_is_no_input()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("bad.layout", "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1:80\nchannel no-such-host.invalid:80\nend 2 channels\n");
        var e = Assert.Throws<ConfigurationException>(() => LayoutFile.Load(path));
        Assert.StartsWith($"layout file {path} line 4: unknown or invalid address [no-such-host.invalid]", e.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.DataError, e.ExitCode);
        var missing = Assert.Throws<ConfigurationException>(() => LayoutFile.Load(Path.Combine(folder.Path, "none.layout")));
        Assert.Equal(ExitCodes.NoInput, missing.ExitCode);
        Assert.StartsWith("cannot read layout file ", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_problems_name_the_users_path_and_the_cure_not_a_temporary_file()
    {
        using var folder = new TemporaryFolder();
        var layout = LayoutFile.Parse(Example, "x");
        var missingFolder = Path.Combine(folder.Path, "none");
        var save = Assert.Throws<DirectoryNotFoundException>(() => LayoutFile.Save(Path.Combine(missingFolder, "a.layout"), layout, null));
        Assert.Equal($"the folder {missingFolder} does not exist: create it or give another path", save.Message);
        var onFolder = Assert.Throws<IOException>(() => LayoutFile.Save(folder.Path, layout, null));
        Assert.Equal($"{folder.Path} is a folder: give a file name", onFolder.Message);
        Assert.Empty(Directory.GetFiles(folder.Path, "*.tmp", SearchOption.AllDirectories));

        var read = Assert.Throws<ConfigurationException>(() => LayoutFile.Load(folder.Path));
        Assert.Equal($"cannot read layout file {folder.Path}: {folder.Path} is a folder: give a file name", read.Message);
        var none = Path.Combine(folder.Path, "none.layout");
        var missing = Assert.Throws<ConfigurationException>(() => LayoutFile.Load(none));
        Assert.Equal($"cannot read layout file {none}: {none} does not exist: give the path of a saved layout", missing.Message);
    }

    [Fact]
    public void Save_writes_a_new_file_for_its_owner_only_keeps_the_mode_it_replaces_and_can_refuse_to_overwrite()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Windows has no Unix modes; the file there takes its folder's ACL.
        }

        using var folder = new TemporaryFolder();
        var layout = LayoutFile.Parse(Example, "x");
        var path = Path.Combine(folder.Path, "a.layout");
        LayoutFile.Save(path, layout, "127.0.0.1:8080");
        Assert.Equal(Body(Example), Body(File.ReadAllText(path)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        var shared = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, shared);
        LayoutFile.Save(path, layout, null);
        Assert.Equal(shared, File.GetUnixFileMode(path));

        var kept = folder.File("b.layout", "mine");
        Assert.Throws<IOException>(() => LayoutFile.Save(kept, layout, null, overwrite: false));
        Assert.Equal("mine", File.ReadAllText(kept));
        Assert.Equal(["a.layout", "b.layout"], Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>The records of a layout file: its comments (origin, version) left out.</summary>
    internal static string Body(string text) =>
        string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith('#')));

    internal sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("balance-layout-").FullName;

        public string File(string name, string text)
        {
            var path = System.IO.Path.Combine(Path, name);
            System.IO.File.WriteAllText(path, text);
            return path;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
