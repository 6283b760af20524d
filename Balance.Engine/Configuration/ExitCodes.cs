namespace Balance.Configuration;

/// <summary>The sysexits codes the original balance used; scripts written for it test them.</summary>
public static class ExitCodes
{
    /// <summary>EX_OK: the command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>EX_USAGE: an option or operand is wrong; the message names it.</summary>
    public const int Usage = 64;

    /// <summary>EX_DATAERR: a channel, address or shell command cannot be read or resolved.</summary>
    public const int DataError = 65;

    /// <summary>EX_NOINPUT: a control segment file cannot be created or opened.</summary>
    public const int NoInput = 66;

    /// <summary>EX_UNAVAILABLE: no instance answers, or the groups asked for do not fit or are empty.</summary>
    public const int Unavailable = 69;

    /// <summary>EX_SOFTWARE: an unexpected failure, or a background engine that ended before listening.</summary>
    public const int Software = 70;

    /// <summary>EX_OSERR: the system refused an address or a port to listen on.</summary>
    public const int OsError = 71;

    /// <summary>EX_CANTCREAT: an output file cannot be written.</summary>
    public const int CantCreate = 73;
    /// <summary>EX_NOPERM: the instance's files belong to someone else, or access to them is denied.</summary>
    public const int NoPermission = 77;
}
