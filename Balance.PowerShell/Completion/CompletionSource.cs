using System.Collections;
using System.Globalization;
using System.Management.Automation;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>What the completers share: the word typed so far as a pattern, and the instance named by the other bound parameters.</summary>
internal static class CompletionSource
{
    public static WildcardPattern PatternFor(string? wordToComplete)
    {
        var word = (wordToComplete ?? string.Empty).Trim('\'', '"');
        return new WildcardPattern(WildcardPattern.Escape(word) + "*", WildcardOptions.IgnoreCase);
    }

    /// <summary>The instance the command line addresses so far (its -Port and -BindAddress), or null when none is open.</summary>
    public static ControlClient? OpenBound(IDictionary? fakeBoundParameters)
    {
        if (fakeBoundParameters is null || !TryInt(fakeBoundParameters["Port"], out var port))
        {
            return null;
        }

        try
        {
            return InstanceTarget.Open(port, fakeBoundParameters["BindAddress"]?.ToString());
        }
        catch (Exception e) when (BalanceCmdlet.IsExpected(e))
        {
            return null;
        }
    }

    public static int GroupOf(IDictionary? fakeBoundParameters) =>
        fakeBoundParameters is not null && TryInt(fakeBoundParameters["Group"], out var g) ? g : 0;

    private static bool TryInt(object? value, out int result)
    {
        result = 0;
        value = value is PSObject pso ? pso.BaseObject : value;
        return value switch
        {
            int i => (result = i) == i,
            null => false,
            _ => int.TryParse(value.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out result),
        };
    }
}
