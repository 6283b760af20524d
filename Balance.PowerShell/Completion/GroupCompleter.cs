using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Balance.PowerShell;

/// <summary>Completes -Group with the groups of the instance given by -Port (and -BindAddress) that hold channels.</summary>
public sealed class GroupCompleter : IArgumentCompleter
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
        return client.GetGroups()
            .Select(g => (Text: g.Group.ToString(CultureInfo.InvariantCulture), Group: g))
            .Where(g => pattern.IsMatch(g.Text))
            .Select(g => new CompletionResult(g.Text, g.Text, CompletionResultType.ParameterValue, string.Format(CultureInfo.InvariantCulture, "{0}, {1} channel(s)", g.Group.Type, g.Group.ChannelCount)))
            .ToArray();
    }
}
