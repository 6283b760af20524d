using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Balance.PowerShell;

/// <summary>
/// Writes counters to a file for scheduled collection. Whole-file formats are written to a
/// temporary file and renamed, so a reader (MRTG, a dashboard) never sees half a file.
/// </summary>
internal static class CounterFile
{
    private static readonly string[] CsvColumns =
    [
        "Timestamp", "Port", "BindAddress", "Group", "Index", "Destination", "Kind", "In", "Out",
        "TotalConnections", "Failures", "Connections", "BytesSent", "BytesReceived",
        "AdminState", "Health", "LastCheck", "LastCheckResult",
    ];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static void Write(string path, ExportFormat format, IReadOnlyList<(BalanceCounter Counter, string Mrtg)> counters, bool append)
    {
        switch (format)
        {
            case ExportFormat.Mrtg:
                Replace(path, string.Concat(counters.Select(c => c.Mrtg)));
                break;
            case ExportFormat.Json:
                Replace(path, JsonSerializer.Serialize(counters.Select(c => c.Counter).ToArray(), JsonOptions) + "\n");
                break;
            default:
                WriteCsv(path, counters.Select(c => c.Counter), append);
                break;
        }
    }

    private static void WriteCsv(string path, IEnumerable<BalanceCounter> counters, bool append)
    {
        var text = new StringBuilder();
        var needsHeader = !append || !File.Exists(path) || new FileInfo(path).Length == 0;
        if (needsHeader)
        {
            text.AppendJoin(',', CsvColumns.Select(Quote)).Append('\n');
        }

        foreach (var c in counters)
        {
            string[] row =
            [
                c.Timestamp.ToString("o", CultureInfo.InvariantCulture),
                Number(c.Port), c.BindAddress, Number(c.Group), Number(c.Index), c.Destination, c.Kind.ToString(),
                Number(c.In), c.Out is { } o ? Number(o) : string.Empty,
                Number(c.TotalConnections), Number(c.Failures), Number(c.Connections), Number(c.BytesSent), Number(c.BytesReceived),
                c.AdminState.ToString(), c.Health.ToString(), c.LastCheck?.ToString("o", CultureInfo.InvariantCulture) ?? string.Empty, c.LastCheckResult.ToString(),
            ];
            text.AppendJoin(',', row.Select(Quote)).Append('\n');
        }

        if (append)
        {
            File.AppendAllText(path, text.ToString(), new UTF8Encoding(false));
        }
        else
        {
            Replace(path, text.ToString());
        }
    }

    private static void Replace(string path, string content)
    {
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            File.WriteAllText(temporary, content, new UTF8Encoding(false));
            File.Move(temporary, full, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            // The temporary file is ours, not the user's: the message names the path they gave.
            throw new UnauthorizedAccessException(e.Message.Replace(temporary, full, StringComparison.Ordinal), e);
        }
        catch (IOException e)
        {
            throw new IOException(e.Message.Replace(temporary, full, StringComparison.Ordinal), e);
        }
        finally
        {
            // File.Delete throws when the folder is missing, which would hide the real error.
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string field) => "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
