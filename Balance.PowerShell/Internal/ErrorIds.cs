namespace Balance.PowerShell;

/// <summary>
/// The stable error IDs of the module. They are part of its public contract: users assert them
/// with FullyQualifiedErrorId ("&lt;Id&gt;,Balance.PowerShell.&lt;Cmdlet class&gt;"), and docs/cmdlets lists them.
/// </summary>
internal static class ErrorIds
{
    public const string InstanceNotFound = "InstanceNotFound";
    public const string AmbiguousInstance = "AmbiguousInstance";
    public const string PermissionDenied = "PermissionDenied";
    public const string IncompatibleLayout = "IncompatibleLayout";
    public const string SegmentCorrupt = "SegmentCorrupt";
    public const string GroupNotFound = "GroupNotFound";
    public const string ChannelNotFound = "ChannelNotFound";
    public const string InvalidArgument = "InvalidArgument";
    public const string InvalidAddress = "InvalidAddress";
    public const string NothingToChange = "NothingToChange";
    public const string ChannelMustBeDisabled = "ChannelMustBeDisabled";
    public const string GroupFull = "GroupFull";
    public const string ControlTimeout = "ControlTimeout";
    public const string InvalidConfiguration = "InvalidConfiguration";
    public const string AlreadyRunning = "AlreadyRunning";
    public const string StartFailed = "StartFailed";
    public const string DetachedStartFailed = "DetachedStartFailed";
    public const string StopFailed = "StopFailed";
    public const string RestartFailed = "RestartFailed";
    public const string InvalidChannelList = "InvalidChannelList";
    public const string ExportFailed = "ExportFailed";
    public const string ShellCommandFailed = "ShellCommandFailed";
    public const string EngineFailed = "EngineFailed";
    public const string DrainTimeout = "DrainTimeout";
    public const string LayoutFileExists = "LayoutFileExists";
    public const string LayoutFileReadOnly = "LayoutFileReadOnly";
    public const string SaveFailed = "SaveFailed";
    public const string InvalidLayoutFile = "InvalidLayoutFile";
}
