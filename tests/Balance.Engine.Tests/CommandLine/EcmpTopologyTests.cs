using System.Diagnostics;
using Xunit;

namespace Balance.Tests.CommandLine;

/// <summary>
/// A short run of <c>bench/topology-ecmp.sh</c>: three engines behind an ECMP route in network
/// namespaces agree on every flow's back-end, keep agreeing when a node's next hop or a back-end
/// goes, and the script leaves no namespace behind. It needs root and working <c>ip netns</c>;
/// elsewhere it reports itself skipped.
/// </summary>
public sealed class EcmpTopologyTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(240);

    [NetnsFact]
    public async Task Three_nodes_agree_on_every_flow_and_only_the_removed_backends_clients_move()
    {
        var script = Path.Combine(RepoRoot(), "bench", "topology-ecmp.sh");
        var (code, output, error) = await RunAsync("bash", script, "--balance-bin", BalanceExecutable.Path,
            "--flows", "300", "--sessions", "30", "--budget", "200");

        Assert.True(code == 0, $"exit {code}\n{output}\n{error}");
        Assert.Contains("| 300 / 300 = 100.00 % | 0 |", output, StringComparison.Ordinal);
        Assert.Contains("| multipath route (hash-threshold) |", output, StringComparison.Ordinal);
        foreach (var row in output.Split('\n').Where(l => l.StartsWith("| multipath", StringComparison.Ordinal) || l.StartsWith("| resilient", StringComparison.Ordinal)))
        {
            Assert.Contains("| 0 of 300 |", row, StringComparison.Ordinal);
        }

        var removalRows = output.Split('\n').Where(l => l.StartsWith("| ECMP |", StringComparison.Ordinal) || l.StartsWith("| node ", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, removalRows.Count);
        Assert.All(removalRows, row => Assert.Matches(@"^\| [^|]+ \| (\d+) / \1 \| 0 / \d+ \| 0 \|$", row));
        Assert.DoesNotContain("bal-ec-", await NamespacesAsync(), StringComparison.Ordinal);
    }

    internal static bool Available()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return false;
        }

        try
        {
            // Listing works without the right to make one (a container without CAP_SYS_ADMIN):
            // only making and removing a namespace proves the script can run.
            var probe = "bal-probe-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var (code, _, _) = RunAsync("ip", "netns", "add", probe).GetAwaiter().GetResult();
            if (code != 0)
            {
                return false;
            }

            RunAsync("ip", "netns", "delete", probe).GetAwaiter().GetResult();
            return File.Exists("/usr/bin/python3") || File.Exists("/bin/python3");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static async Task<string> NamespacesAsync() => (await RunAsync("ip", "netns", "list")).Output;

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Balance.sln")) && File.Exists(Path.Combine(dir.FullName, "bench", "topology-ecmp.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Balance.sln + bench/) was not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("no process: " + program);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(Budget);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            // TERM first: the script's trap removes its namespaces.
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit(5000);
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {Budget}\n{await output}\n{await error}");
        }

        return (process.ExitCode, await output, await error);
    }
}

/// <summary>A fact that runs only where network namespaces can be made (root, <c>ip netns</c>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (!EcmpTopologyTests.Available())
        {
            Skip = "needs root and a working 'ip netns' (network namespaces)";
        }
    }
}
