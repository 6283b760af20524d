namespace BalancePowerShellTests;

/// <summary>Save-BalanceLayout and Start-Balance -LayoutPath hosted in-process: output, parameter sets and error ids.</summary>
public sealed class LayoutCmdletTests : IDisposable
{
    private readonly FakeInstance fake = FakeInstance.WithSampleChannels();
    private readonly PowerShellSession ps = new();
    private readonly string folder = Directory.CreateTempSubdirectory("balance-layout-ps-").FullName;

    public void Dispose()
    {
        ps.Dispose();
        fake.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void Save_writes_the_instance_layout_and_passes_the_file_through()
    {
        var path = Path.Combine(folder, "fake.layout");
        var file = ps.Run("Save-BalanceLayout $args[0] $args[1] -PassThru", fake.Port, path).ThrowOnError().Single;
        Assert.IsType<FileInfo>(file.BaseObject);
        Assert.Equal(path, ((FileInfo)file.BaseObject).FullName);
        var lines = File.ReadAllLines(path);
        Assert.Equal("balance-layout 1", lines[0]);
        Assert.Equal(
            ["group 0 rr", "channel 127.0.0.1:9101 maxc 0 weight 1 enabled", "channel 127.0.0.1:9102 maxc 3 weight 1 enabled", "channel 127.0.0.1:9103 maxc 0 weight 1 enabled", "group 1 hash", "channel 127.0.0.1:9104 maxc 0 weight 1 disabled", "end 4 channels"],
            lines.Where(l => !l.StartsWith('#')).Skip(1));
        Assert.Empty(ps.Run("Save-BalanceLayout -Port $args[0] -Path $args[1]", fake.Port, path).ThrowOnError().Output);
    }

    [Fact]
    public void Save_takes_the_instance_from_the_pipeline_and_reports_a_missing_one()
    {
        var path = Path.Combine(folder, "piped.layout");
        ps.Run("Get-Balance -Port $args[0] | Save-BalanceLayout -Path $args[1]", fake.Port, path).ThrowOnError();
        Assert.True(File.Exists(path));
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.SaveBalanceLayoutCommand"], ps.Run("Save-BalanceLayout -Port $args[0] -Path $args[1]", FreePort.Next(), path).ErrorIds);
    }

    [Fact]
    public void Start_from_a_layout_is_its_own_parameter_set_and_a_bad_file_starts_nothing()
    {
        var port = FreePort.Next();
        var bad = Path.Combine(folder, "bad.layout");
        File.WriteAllText(bad, "balance-layout 1\ngroup 0 rr\nchannel 127.0.0.1:9101 maxc -1\nend 1 channels\n");
        var r = ps.Run("Start-Balance -Port $args[0] -LayoutPath $args[1]", port, bad);
        Assert.Equal(["InvalidLayoutFile,Balance.PowerShell.StartBalanceCommand"], r.ErrorIds);
        Assert.StartsWith($"layout file {bad} line 3: maxc [-1] is out of range", r.Terminating?.Message ?? r.Errors[0].Exception.Message, StringComparison.Ordinal);
        Assert.Equal(["InvalidLayoutFile,Balance.PowerShell.StartBalanceCommand"], ps.Run("Start-Balance -Port $args[0] -LayoutPath $args[1]", port, Path.Combine(folder, "none.layout")).ErrorIds);
        Assert.Empty(ps.Run("Get-Balance -Port $args[0] -ErrorAction SilentlyContinue", port).Output);

        var both = ps.Run("Start-Balance -Port $args[0] -LayoutPath $args[1] -Channel a:80", port, bad);
        Assert.StartsWith("AmbiguousParameterSet,", Assert.Single(both.ErrorIds), StringComparison.Ordinal);
        var sets = ps.Run("(Get-Command Start-Balance).ParameterSets.Name").ThrowOnError().Strings;
        Assert.Contains("Layout", sets);
        Assert.Contains("LayoutDetached", sets);
    }
}
