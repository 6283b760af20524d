using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Completes -Index with the channels of the group given by -Group (default 0) of the instance given by -Port.</summary>
public sealed class IndexCompleter : IArgumentCompleter
{
    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        using var client = CompletionSource.OpenBound(fakeBoundParameters);
        if (client is null)
        {
            return [];
        }

        var pattern = CompletionSource.PatternFor(wordToComplete);
        try
        {
            return client.GetChannels(CompletionSource.GroupOf(fakeBoundParameters))
                .Select(c => (Text: c.Index.ToString(CultureInfo.InvariantCulture), Channel: c))
                .Where(c => pattern.IsMatch(c.Text))
                .Select(c => new CompletionResult(c.Text, c.Text, CompletionResultType.ParameterValue, c.Channel.Destination + (c.Channel.Enabled ? " (enabled)" : " (disabled)")))
                .ToArray();
        }
        catch (ControlException)
        {
            return [];
        }
    }
}
