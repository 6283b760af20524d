using Balance.Control;

namespace Balance.Health;

/// <summary>How a check result reads in events, <c>health</c> and exports.</summary>
internal static class ResultText
{
    /// <summary>"passed", "refused", "timed out", "unexpected reply", "error", or "-" before the first check.</summary>
    public static string Of(CheckResult result) => result switch
    {
        CheckResult.Passed => "passed",
        CheckResult.Refused => "refused",
        CheckResult.TimedOut => "timed out",
        CheckResult.UnexpectedReply => "unexpected reply",
        CheckResult.Error => "error",
        _ => "-",
    };
}
