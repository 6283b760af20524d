namespace Balance.Control;

/// <summary>What went wrong with a control operation; each front end maps it to its own wording.</summary>
public enum ControlError
{
    /// <summary>No segment, or its engine is gone.</summary>
    NotRunning,

    /// <summary>The segment belongs to another user.</summary>
    PermissionDenied,

    /// <summary>The segment was written by a Balance with another layout version.</summary>
    IncompatibleLayout,

    /// <summary>The segment is truncated or its header or indexes are not valid.</summary>
    Corrupt,

    /// <summary>Another engine already serves this endpoint.</summary>
    AlreadyRunning,

    NoSuchGroup,
    NoSuchChannel,
    InvalidArgument,
    InvalidAddress,
    MustBeDisabled,
    GroupFull,
    Timeout,
}

public sealed class ControlException : Exception
{
    public ControlException(ControlError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    public ControlException()
        : this(ControlError.InvalidArgument, "control operation failed")
    {
    }

    public ControlException(string message)
        : this(ControlError.InvalidArgument, message)
    {
    }

    public ControlException(string message, Exception innerException)
        : this(ControlError.InvalidArgument, message, innerException)
    {
    }

    public ControlError Error { get; }
}
