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

    /// <summary>The group index is outside the instance's groups.</summary>
    NoSuchGroup,

    /// <summary>The channel index is outside the group's channels.</summary>
    NoSuchChannel,

    /// <summary>A value (a limit, a weight, a setting) is out of range.</summary>
    InvalidArgument,

    /// <summary>A channel's host does not resolve or is too long.</summary>
    InvalidAddress,

    /// <summary>The channel must be disabled before its address can change.</summary>
    MustBeDisabled,

    /// <summary>The group already holds as many channels as the instance has room for.</summary>
    GroupFull,

    /// <summary>Another control client held the segment's lock for too long.</summary>
    Timeout,
}

/// <summary>A control operation that failed; <see cref="Error"/> says why, the message says it for people.</summary>
public sealed class ControlException : Exception
{
    /// <summary>A failure of kind <paramref name="error"/>, described by <paramref name="message"/>.</summary>
    /// <param name="error">What went wrong, for callers that map it to their own wording.</param>
    /// <param name="message">One line naming the problem and the fix.</param>
    /// <param name="inner">The failure that caused it, if any.</param>
    public ControlException(ControlError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    /// <summary>An <see cref="ControlError.InvalidArgument"/> failure without details.</summary>
    public ControlException()
        : this(ControlError.InvalidArgument, "control operation failed")
    {
    }

    /// <summary>An <see cref="ControlError.InvalidArgument"/> failure described by <paramref name="message"/>.</summary>
    /// <param name="message">One line naming the problem and the fix.</param>
    public ControlException(string message)
        : this(ControlError.InvalidArgument, message)
    {
    }

    /// <summary>An <see cref="ControlError.InvalidArgument"/> failure caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">One line naming the problem and the fix.</param>
    /// <param name="innerException">The failure that caused it.</param>
    public ControlException(string message, Exception innerException)
        : this(ControlError.InvalidArgument, message, innerException)
    {
    }

    /// <summary>What went wrong, stable for callers that map it to an error id.</summary>
    public ControlError Error { get; }
}
