namespace BalancePowerShellTests;

/// <summary>Where the repository and its module manifest are, found from the test binaries upwards.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Manifest => Path.Combine(Root, "Balance.psd1");

    public static string ModuleFolder => Path.Combine(Root, "Balance.PowerShell", "bin", "Module");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Balance.psd1")) && File.Exists(Path.Combine(dir.FullName, "Balance.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Balance.psd1 + Balance.sln) was not found above " + AppContext.BaseDirectory);
    }
}
