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

    /// <summary>
    /// The instances a query addresses (every visible one when <paramref name="port"/> is null);
    /// when the listing itself fails the error is written and the list is empty.
    /// </summary>
    internal IReadOnlyList<InstanceInfo> ListInstances(int? port, string? bindAddress)
    {
        try
        {
            return InstanceTarget.List(port, bindAddress);
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteFailure(e, port is { } p ? Describe(p, bindAddress) : bindAddress);
            return [];
        }
    }

    /// <summary>
    /// The instances on any of <paramref name="ports"/> (every visible one when null), in the order
    /// the ports were given; a port that fails has its own error and the others are still listed.
    /// </summary>
    internal IReadOnlyList<InstanceInfo> ListInstances(IReadOnlyList<int>? ports, string? bindAddress) =>
        ports is null ? ListInstances((int?)null, bindAddress) : ports.Distinct().SelectMany(p => ListInstances(p, bindAddress)).ToArray();

    /// <summary>Opens each instance on one port (every visible one when null); see the list overload.</summary>
    internal IEnumerable<(InstanceInfo Instance, ControlClient Client)> OpenEach(int? port, string? bindAddress) =>
        OpenEach(port is { } p ? [p] : null, bindAddress);

    /// <summary>
    /// Opens each instance a query addresses in turn; the caller disposes each client. An instance
    /// that stopped between listing and opening is simply no longer there, so it is skipped.
    /// </summary>
    internal IEnumerable<(InstanceInfo Instance, ControlClient Client)> OpenEach(IReadOnlyList<int>? ports, string? bindAddress)
    {
        foreach (var instance in ListInstances(ports, bindAddress))
        {
            ControlClient client;
            try
            {
                client = ControlClient.Open(instance.BindAddress, instance.Port);
            }
            catch (ControlException)
            {
                continue;
            }

            yield return (instance, client);
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
