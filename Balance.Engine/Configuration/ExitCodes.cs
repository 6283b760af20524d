namespace Balance.Configuration;

/// <summary>The sysexits codes the original balance used; scripts written for it test them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Usage = 64;
    public const int DataError = 65;
    public const int NoInput = 66;
    public const int Unavailable = 69;
    public const int Software = 70;
    public const int OsError = 71;

    /// <summary>EX_CANTCREAT: an output file cannot be written.</summary>
    public const int CantCreate = 73;
    public const int NoPermission = 77;
}
