using System.Globalization;
using System.Text;
using Balance.Control;

namespace Balance.Configuration;

/// <summary>
/// Layout files on disk (docs/layout-file.md): loading one whole and checked (every host resolved)
/// before an instance starts from it, and saving one atomically, so a reader or a crash never
/// meets half a file.
/// </summary>
public static class LayoutFile
{
    /// <summary>A file larger than this is not a layout anyone wrote; reading it whole would only cost memory.</summary>
    private const long MaxBytes = 64L * 1024 * 1024;

    private const UnixFileMode NewFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Reads, parses and checks the layout at <paramref name="path"/>, resolving every host. Every
    /// failure is a <see cref="ConfigurationException"/>: 66 when the file cannot be read, 65 with
    /// the file and line when its content is wrong or a host has no address.
    /// </summary>
    public static BalanceLayout Load(string path)
    {
        var layout = Parse(Read(path), path);
        for (var g = 0; g < layout.Groups.Count; g++)
        {
            var channels = layout.Groups[g].Channels;
            for (var c = 0; c < channels.Count; c++)
            {
                try
                {
                    ChannelAddress.Resolve(channels[c].Host);
                }
                catch (ControlException e)
                {
                    var line = layout.ChannelLines[g][c];
                    throw new ConfigurationException(
                        string.Create(CultureInfo.InvariantCulture, $"layout file {path} line {line}: unknown or invalid address [{channels[c].Host}]: {e.InnerException?.Message ?? "the name has no address"}; check the host name"),
                        path,
                        ExitCodes.DataError);
                }
            }
        }

        return layout;
    }

    /// <summary>Parses layout text; <paramref name="file"/> names it in error messages. Resolves nothing.</summary>
    public static BalanceLayout Parse(string text, string file) => LayoutReader.Parse(text, file);

    /// <summary>The text of <paramref name="layout"/> as a layout file, with <paramref name="origin"/> (an endpoint) in its comment.</summary>
    public static string Format(BalanceLayout layout, string? origin) => LayoutText.Format(layout, origin);

    /// <summary>
    /// Writes <paramref name="layout"/> to <paramref name="path"/> through a temporary file in the same
    /// folder and a rename. A new file is readable by its owner only (0600, like the control
    /// segment: it maps the back-ends); a file it replaces keeps its mode. With
    /// <paramref name="overwrite"/> false an existing file is left alone and <see cref="IOException"/> thrown.
    /// </summary>
    public static void Save(string path, BalanceLayout layout, string? origin, bool overwrite = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var text = Format(layout, origin);
        var full = Path.GetFullPath(path);
        if (!overwrite && File.Exists(full))
        {
            throw new IOException($"the file {full} already exists");
        }

        var temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            UnixFileMode? kept = null;
            if (!OperatingSystem.IsWindows())
            {
                kept = File.Exists(full) ? File.GetUnixFileMode(full) : null;
                options.UnixCreateMode = NewFileMode;
            }

            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(new UTF8Encoding(false).GetBytes(text));
                stream.Flush(flushToDisk: true);
            }

            if (kept is { } mode && !OperatingSystem.IsWindows())
            {
                // chmod, unlike the mode given at creation, is not narrowed by the umask.
                File.SetUnixFileMode(temporary, mode);
            }

            if (overwrite)
            {
                File.Move(temporary, full, overwrite: true);
            }
            else
            {
                // Move without overwrite fails if another writer created the file meanwhile.
                File.Move(temporary, full, overwrite: false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && FileProblem.Explain(full, e) is var explained && explained != e)
        {
            throw explained;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    private static string Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (stream.Length > MaxBytes)
            {
                throw new ConfigurationException($"layout file {path} is {stream.Length} bytes long, not a layout file; give the file saved by balance -c save or Save-BalanceLayout", path, ExitCodes.DataError);
            }

            using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true));
            return reader.ReadToEnd();
        }
        catch (DecoderFallbackException)
        {
            throw new ConfigurationException($"layout file {path} is not UTF-8 text; give the file saved by balance -c save or Save-BalanceLayout", path, ExitCodes.DataError);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read layout file {path}: {FileProblem.Explain(path, e).Message}", path, ExitCodes.NoInput);
        }
    }
}
