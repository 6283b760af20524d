using System.Globalization;
using System.Text.Json;
using Balance.Shell;

namespace BalancePowerShellTests;

public sealed class CounterAndShellTests : IDisposable
{
    private readonly FakeInstance fake = FakeInstance.WithSampleChannels();
    private readonly PowerShellSession ps = new();
    private readonly string folder = Directory.CreateTempSubdirectory("balance-ps-").FullName;

    public void Dispose()
    {
        ps.Dispose();
        fake.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void Counters_as_objects_follow_MRTG_in_and_out()
    {
        var bytes = ps.Run("Get-BalanceCounter -Port $args[0] -Group 0 -Index 0", fake.Port).ThrowOnError().Of("BalanceCounter")[0];
        Assert.Equal((18L, 6L, "group 0 channel 0", "Bytes"), (bytes.P<long>("In"), bytes.P<long>("Out"), bytes.P<string>("Name"), bytes.P<string>("Kind")));
        var conns = ps.Run("Get-BalanceCounter -Port $args[0] -Group 0 -Index 0 -Kind Connections", fake.Port).ThrowOnError().Single;
        Assert.Equal(3L, conns.P<long>("In"));
        Assert.Null(conns.Properties["Out"].Value);
    }

    [Theory]
    [InlineData("Bytes", "mrtg-bytes")]
    [InlineData("Connections", "mrtg-conns")]
    public void Mrtg_format_prints_what_the_shell_prints(string kind, string command)
    {
        var lines = ps.Run("Get-BalanceCounter -Port $args[0] -Group 1 -Index 0 -Kind $args[1] -Format Mrtg", fake.Port, kind).ThrowOnError().Strings;
        Assert.Equal(4, lines.Count);
        Assert.Equal(Shell($"{command} 1 0").Split('\n', StringSplitOptions.RemoveEmptyEntries)[3], lines[3]);
        Assert.Equal(Shell($"{command} 1 0").Split('\n', StringSplitOptions.RemoveEmptyEntries)[..2], lines.Take(2));
        Assert.Equal("group 1 channel 0", lines[3]);
    }

    [Fact]
    public void Export_writes_mrtg_csv_and_json_files()
    {
        var mrtg = Path.Combine(folder, "web.mrtg");
        var csv = Path.Combine(folder, "c.csv");
        var json = Path.Combine(folder, "c.json");
        ps.Run(
            """
            param()
            $p = $args[0]
            Export-BalanceCounter -Port $p -Group 0 -Index 0 -Path $args[1] -Format Mrtg
            Export-BalanceCounter -Port $p -Path $args[2] -Format Csv
            Export-BalanceCounter -Port $p -Path $args[2] -Format Csv -Append -Kind Connections
            Export-BalanceCounter -Port $p -Group 0 -Path $args[3] -Format Json
            """,
            fake.Port,
            mrtg,
            csv,
            json).ThrowOnError();
        var lines = File.ReadAllLines(mrtg);
        Assert.Equal(["18", "6"], lines[..2]);
        Assert.Equal("group 0 channel 0", lines[3]);

        var rows = File.ReadAllLines(csv);
        Assert.Equal(9, rows.Length);
        Assert.StartsWith("\"Timestamp\",\"Port\",\"BindAddress\",\"Group\",\"Index\",\"Destination\",\"Kind\",\"In\",\"Out\"", rows[0], StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"\"{fake.Port}\",\"127.0.0.1\",\"0\",\"0\",\"127.0.0.1:9101\",\"Bytes\",\"18\",\"6\""), rows[1], StringComparison.Ordinal);
        Assert.Contains("\"Connections\",\"3\",\"\"", rows[5], StringComparison.Ordinal);

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(3, doc.RootElement.GetArrayLength());
        Assert.Equal("127.0.0.1:9102", doc.RootElement[1].GetProperty("Destination").GetString());
        Assert.Equal("Bytes", doc.RootElement[1].GetProperty("Kind").GetString());
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }

    [Fact]
    public void Export_Prometheus_writes_the_selected_channels_for_a_textfile_collector()
    {
        var path = Path.Combine(folder, "balance.prom");
        ps.Run("Export-BalanceCounter -Port $args[0] -Group 0 -Path $args[1] -Format Prometheus", fake.Port, path).ThrowOnError();
        var text = File.ReadAllText(path);
        var labels = string.Create(CultureInfo.InvariantCulture, $"endpoint=\"127.0.0.1:{fake.Port}\",group=\"0\",channel=\"0\",destination=\"127.0.0.1:9101\"");
        Assert.Contains("balance_channel_received_bytes_total{" + labels + "} 18\n", text, StringComparison.Ordinal);
        Assert.Contains("balance_channel_sent_bytes_total{" + labels + "} 6\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE balance_channel_connections_total counter", text, StringComparison.Ordinal);
        Assert.DoesNotContain("group=\"1\"", text, StringComparison.Ordinal);
        Assert.Equal([path], Directory.GetFiles(folder));
    }

    [Fact]
    public void Export_WhatIf_writes_no_file_and_Append_needs_csv()
    {
        var path = Path.Combine(folder, "none.json");
        Assert.Empty(ps.Run("Export-BalanceCounter -Port $args[0] -Path $args[1] -Format Json -WhatIf -PassThru", fake.Port, path).ThrowOnError().Output);
        Assert.False(File.Exists(path));
        var r = ps.Run("Export-BalanceCounter -Port $args[0] -Path $args[1] -Format Json -Append", fake.Port, path);
        Assert.Equal(["InvalidArgument,Balance.PowerShell.ExportBalanceCounterCommand"], r.ErrorIds);
        r = ps.Run("Export-BalanceCounter -Port $args[0] -Path $args[1] -Format Csv", fake.Port, Path.Combine(folder, "no", "such", "dir.csv"));
        Assert.Equal(["ExportFailed,Balance.PowerShell.ExportBalanceCounterCommand"], r.ErrorIds);
    }

    [Fact]
    public void Invoke_BalanceCommand_speaks_the_shell_language_in_one_session()
    {
        var show = ps.Run("Invoke-BalanceCommand 'show' -Port $args[0]", fake.Port).ThrowOnError().Strings;
        Assert.Equal(Shell("show").TrimEnd('\n').Split('\n'), show);

        // A refused command is an error record, not a line of output, and the session goes on after it.
        var run = ps.Run("Invoke-BalanceCommand -Command 'group 1; nonsense; enable 0' -Port $args[0]", fake.Port);
        Assert.Equal(["ShellCommandFailed,Balance.PowerShell.InvokeBalanceCommandCommand"], run.ErrorIds);
        Assert.EndsWith(": syntax error", run.Errors[0].Exception.Message, StringComparison.Ordinal);
        Assert.Equal(["channel 0 enabled"], run.Strings);
        Assert.True(fake.Client.GetChannel(1, 0).Enabled);

        Assert.Empty(ps.Run("Get-Balance -Port $args[0] | Invoke-BalanceCommand 'disable 0' -WhatIf", fake.Port).ThrowOnError().Output);
        Assert.True(fake.Client.GetChannel(0, 0).Enabled);

        Assert.Empty(ps.Run("Invoke-BalanceCommand 'quit; disable 0' -Port $args[0]", fake.Port).ThrowOnError().Output);
        Assert.True(fake.Client.GetChannel(0, 0).Enabled);
    }

    [Fact]
    public void Invoke_BalanceCommand_kill_stops_the_instance()
    {
        ps.Run("Invoke-BalanceCommand 'kill; show' -Port $args[0]", fake.Port).ThrowOnError();
        Assert.True(fake.Killed);
    }

    private string Shell(string line)
    {
        using var client = Balance.Control.ControlClient.Open(fake.Name);
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        new ShellSession(client).Execute(line, output);
        return output.ToString();
    }
}
