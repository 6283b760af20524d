using System.Text.RegularExpressions;
using Balance.Control;
using Balance.Metrics;
using Balance.Tests.Infrastructure;
using Xunit;

namespace Balance.Tests.Metrics;

/// <summary>docs/monitoring.md and its files stay true: promtool accepts them and the metric list is what is served.</summary>
public sealed partial class MonitoringDocsTests
{
    private static readonly string Docs = Path.Combine(RepositoryRoot(), "docs");

    [Fact]
    public async Task Promtool_accepts_the_documented_scrape_config_and_alert_rules()
    {
        var config = await ExternalTool.RunAsync("promtool", ["check", "config", Path.Combine(Docs, "monitoring", "prometheus.yml")], TimeSpan.FromSeconds(30));
        Assert.True(config.ExitCode == 0, config.Output + config.Error);
        Assert.Contains("SUCCESS: 5 rules found", config.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_documented_metric_list_is_exactly_what_an_instance_serves()
    {
        await using var backend = TestBackend.Start("A");
        await using var engine = TestEngine.Start([backend.Channel]);
        using var control = engine.Control();
        var served = TypeLine().Matches(PrometheusText.Render([control.Snapshot()])).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToArray();
        var page = await File.ReadAllTextAsync(Path.Combine(Docs, "monitoring.md"));
        var documented = DocumentedMetric().Matches(page).Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(served, documented);
        Assert.Contains("![", page, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Docs, "status-page.png")), "docs/status-page.png is missing");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Balance.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Balance.sln above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("^# TYPE (\\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    /// <summary>The metric list's rows: a table row whose first cell is a metric name in backticks.</summary>
    [GeneratedRegex("^\\| `(balance_[a-z_]+)`", RegexOptions.Multiline)]
    private static partial Regex DocumentedMetric();
}
