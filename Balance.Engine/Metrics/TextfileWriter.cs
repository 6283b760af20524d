using System.Text;
using Balance.Control;

namespace Balance.Metrics;

/// <summary>
/// Writes instance snapshots as a file for node_exporter's textfile collector. The text goes to a
/// temporary file in the same folder, which is then renamed over the target, so the collector
/// never reads half a file (it reads every <c>*.prom</c>; the temporary name does not end so).
/// </summary>
public static class TextfileWriter
{
    /// <summary>Replaces the file at <paramref name="path"/> with the Prometheus text of <paramref name="snapshots"/>, atomically.</summary>
    public static void Write(string path, IEnumerable<BalanceSnapshot> snapshots)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(snapshots);
        var text = PrometheusText.Render(snapshots);
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            File.WriteAllText(temporary, text, new UTF8Encoding(false));
            File.Move(temporary, full, overwrite: true);
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
}
