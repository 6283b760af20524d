namespace Balance.Tests.Metrics;

/// <summary>Debian's chromium, headless, each run with a profile folder of its own.</summary>
public static class HeadlessChromium
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>The DOM after the page's scripts ran (<c>--dump-dom</c>).</summary>
    public static async Task<string> DumpDomAsync(string url)
    {
        var result = await RunAsync(["--dump-dom", url]);
        return result.Output;
    }

    /// <summary>A PNG of the page at the given window size.</summary>
    public static async Task ScreenshotAsync(string url, string path, int width, int height)
    {
        var result = await RunAsync([$"--window-size={width},{height}", "--screenshot=" + path, "--hide-scrollbars", url]);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"chromium made no screenshot (exit {result.ExitCode}): {result.Error}");
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("balance-chromium-");
        try
        {
            string[] common =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile.FullName,
            ];
            return await ExternalTool.RunAsync("chromium", [.. common, .. args], Bound);
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A crash handler may still hold a file for a moment; the temp folder is the OS's to clean.
            }
        }
    }
}
