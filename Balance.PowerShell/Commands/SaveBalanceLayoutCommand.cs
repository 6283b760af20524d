using System.Globalization;
using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Save-BalanceLayout: writes the live layout of an instance (groups, policies, channels with their
/// address, maxc, weight, admin state and own check settings) to a layout file that
/// <c>Start-Balance -LayoutPath</c> and <c>balance --layout</c> start from (docs/layout-file.md).
/// Overwrites like Out-File: -NoClobber keeps an existing file, -Force replaces a read-only one.
/// </summary>
[Cmdlet(VerbsData.Save, "BalanceLayout", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class SaveBalanceLayoutCommand : InstanceCmdlet
{
    /// <summary>The file to write; an existing folder gets one file per instance, named balance-PORT-ADDRESS.layout.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Replaces a read-only file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Leaves an existing file alone and writes an error instead.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    /// <summary>Writes the saved file (a FileInfo) to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        using var client = TryOpen(Port, BindAddress);
        if (client is null)
        {
            return;
        }

        var path = Target(client);
        var layout = LiveLayout.Read(client);
        var endpoint = ControlSegment.Endpoint(client.Name);
        var action = string.Format(CultureInfo.InvariantCulture, "Save the layout of {0} ({1} channels)", endpoint, layout.ChannelCount);
        if (!ShouldProcess(path, action) || !MayWrite(path))
        {
            return;
        }

        try
        {
            LayoutFile.Save(path, layout, endpoint, overwrite: !NoClobber);
        }
        catch (IOException e) when (NoClobber && File.Exists(path))
        {
            // Another writer created the file between the check and the rename.
            WriteError(new ErrorRecord(e, ErrorIds.LayoutFileExists, ErrorCategory.ResourceExists, path));
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            var category = e is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.WriteError;
            WriteError(new ErrorRecord(e, ErrorIds.SaveFailed, category, path));
            return;
        }

        if (PassThru)
        {
            WriteObject(new FileInfo(path));
        }
    }

    /// <summary>The file for this instance: -Path itself, or a file named after the instance inside the folder -Path names.</summary>
    private string Target(ControlClient client)
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        return Directory.Exists(path)
            ? System.IO.Path.Combine(path, string.Create(CultureInfo.InvariantCulture, $"balance-{client.Name.Port}-{client.Name.NormalizedAddress.Replace(':', '_')}.layout"))
            : path;
    }

    /// <summary>Out-File's rules: -NoClobber refuses an existing file; a read-only one needs -Force.</summary>
    private bool MayWrite(string path)
    {
        if (!File.Exists(path))
        {
            return true;
        }

        if (NoClobber)
        {
            WriteError(new ErrorRecord(
                new IOException(string.Format(CultureInfo.InvariantCulture, "the file {0} already exists and -NoClobber was given; choose another -Path or leave out -NoClobber", path)),
                ErrorIds.LayoutFileExists,
                ErrorCategory.ResourceExists,
                path));
            return false;
        }

        if (!Force && IsReadOnly(path))
        {
            WriteError(new ErrorRecord(
                new UnauthorizedAccessException(string.Format(CultureInfo.InvariantCulture, "the file {0} is read-only; add -Force to replace it", path)),
                ErrorIds.LayoutFileReadOnly,
                ErrorCategory.PermissionDenied,
                path));
            return false;
        }

        return true;
    }

    private static bool IsReadOnly(string path) => OperatingSystem.IsWindows()
        ? new FileInfo(path).IsReadOnly
        : (File.GetUnixFileMode(path) & UnixFileMode.UserWrite) == 0;
}
