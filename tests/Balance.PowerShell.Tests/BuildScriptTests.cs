namespace BalancePowerShellTests;

public sealed class BuildScriptTests : IDisposable
{
    private readonly string output = Directory.CreateTempSubdirectory("balance-package-").FullName;

    public void Dispose() => Directory.Delete(output, recursive: true);

    [Fact]
    public void Package_task_lays_out_an_importable_module_with_help_and_engine()
    {
        // One process holds one Balance.PowerShell assembly: the first path loaded wins for every later
        // import. Loading the repository's copy first keeps the other tests on it; the packaged copy is the
        // same build (checked byte for byte), so the import below proves the package's manifest, format and help.
        using var dev = new PowerShellSession();
        using var ps = new PowerShellSession(importModule: false);
        var script = Path.Combine(RepoPaths.Root, "build.ps1");
        ps.Run("& $args[0] -Task Package -NoBuild -OutputPath $args[1]", script, output).ThrowOnError();
        var folder = Path.Combine(output, "Balance");
        foreach (var file in new[] { "Balance.psd1", "Balance.PowerShell.dll", "Balance.format.ps1xml", "balance.dll", "balance.runtimeconfig.json", Path.Combine("en-US", "Balance.PowerShell.dll-Help.xml") })
        {
            Assert.True(File.Exists(Path.Combine(folder, file)), file);
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(RepoPaths.ModuleFolder, "Balance.PowerShell.dll")), File.ReadAllBytes(Path.Combine(folder, "Balance.PowerShell.dll")));
        var manifest = ps.Run("Test-ModuleManifest -Path $args[0]", Path.Combine(folder, "Balance.psd1")).ThrowOnError().Single;
        Assert.Equal("Balance.PowerShell.dll", manifest.P<string>("RootModule"));
        ps.Run("Import-Module $args[0] -ErrorAction Stop", Path.Combine(folder, "Balance.psd1")).ThrowOnError();
        Assert.Equal(16, ps.Run("(Get-Command -Module Balance).Count").ThrowOnError().Single.BaseObject);
        var synopsis = ps.Run("(Get-Help Start-Balance -Full).Synopsis").ThrowOnError().Single.BaseObject;
        Assert.StartsWith("Starts a Balance", (string)synopsis, StringComparison.Ordinal);
    }
}
