using System.Globalization;
using System.Management.Automation;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Plumbing shared by the cmdlets: opening an instance and turning engine failures into error
/// records. The logic itself stays in Balance.Engine (ControlClient), never in another cmdlet.
/// </summary>
public abstract class BalanceCmdlet : PSCmdlet
{
    internal const string HelpUriBase = "https://github.com/balance-proxy/balance/blob/main/docs/cmdlets/";

    /// <summary>Opens the addressed instance, or writes a non-terminating error naming it and returns null.</summary>
    internal ControlClient? TryOpen(int port, string? bindAddress)
    {
        var target = Describe(port, bindAddress);
        try
        {
            return InstanceTarget.Open(port, bindAddress);
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteFailure(e, target);
            return null;
        }
    }

    /// <summary>Writes the error record for an expected failure (control, configuration or I/O), keeping its stable ID.</summary>
    internal void WriteFailure(Exception exception, object? target) => WriteError(ToRecord(exception, target));

    internal static ErrorRecord ToRecord(Exception exception, object? target) => exception switch
    {
        ControlException c => ControlErrors.ToRecord(c, target),
        AmbiguousInstanceException => new ErrorRecord(exception, ErrorIds.AmbiguousInstance, ErrorCategory.InvalidArgument, target),
        ConfigurationException => new ErrorRecord(exception, ErrorIds.InvalidConfiguration, ErrorCategory.InvalidArgument, target),
        UnauthorizedAccessException => new ErrorRecord(exception, ErrorIds.PermissionDenied, ErrorCategory.PermissionDenied, target),
        _ => new ErrorRecord(exception, ErrorIds.InvalidArgument, ErrorCategory.InvalidOperation, target),
    };

    internal static bool IsExpected(Exception e) =>
        e is ControlException or ConfigurationException or AmbiguousInstanceException or IOException or UnauthorizedAccessException;

    internal static string Describe(int port, string? bindAddress) =>
        string.IsNullOrEmpty(bindAddress)
            ? string.Create(CultureInfo.InvariantCulture, $"port {port}")
            : InstanceTarget.Endpoint(bindAddress, port);

    internal static string DescribeChannel(ControlClient client, int group, int index) => string.Create(
        CultureInfo.InvariantCulture,
        $"channel {index} of group {group} on {ControlSegment.Endpoint(client.Name)}");

    internal static string DescribeGroup(ControlClient client, int group) => string.Create(
        CultureInfo.InvariantCulture,
        $"group {group} on {ControlSegment.Endpoint(client.Name)}");
}
