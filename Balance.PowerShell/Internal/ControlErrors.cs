using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Turns the engine's control failures into error records with the module's stable IDs and categories.</summary>
internal static class ControlErrors
{
    public static ErrorRecord ToRecord(ControlException exception, object? target) => new(
        exception,
        IdOf(exception.Error),
        CategoryOf(exception.Error),
        target);

    public static string IdOf(ControlError error) => error switch
    {
        ControlError.NotRunning => ErrorIds.InstanceNotFound,
        ControlError.PermissionDenied => ErrorIds.PermissionDenied,
        ControlError.IncompatibleLayout => ErrorIds.IncompatibleLayout,
        ControlError.Corrupt => ErrorIds.SegmentCorrupt,
        ControlError.AlreadyRunning => ErrorIds.AlreadyRunning,
        ControlError.NoSuchGroup => ErrorIds.GroupNotFound,
        ControlError.NoSuchChannel => ErrorIds.ChannelNotFound,
        ControlError.InvalidAddress => ErrorIds.InvalidAddress,
        ControlError.MustBeDisabled => ErrorIds.ChannelMustBeDisabled,
        ControlError.GroupFull => ErrorIds.GroupFull,
        ControlError.Timeout => ErrorIds.ControlTimeout,
        _ => ErrorIds.InvalidArgument,
    };

    public static ErrorCategory CategoryOf(ControlError error) => error switch
    {
        ControlError.NotRunning or ControlError.NoSuchGroup or ControlError.NoSuchChannel => ErrorCategory.ObjectNotFound,
        ControlError.PermissionDenied => ErrorCategory.PermissionDenied,
        ControlError.IncompatibleLayout or ControlError.Corrupt => ErrorCategory.InvalidData,
        ControlError.AlreadyRunning => ErrorCategory.ResourceExists,
        ControlError.MustBeDisabled => ErrorCategory.InvalidOperation,
        ControlError.GroupFull => ErrorCategory.LimitsExceeded,
        ControlError.Timeout => ErrorCategory.OperationTimeout,
        _ => ErrorCategory.InvalidArgument,
    };
}
