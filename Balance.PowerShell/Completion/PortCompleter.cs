using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>Completes -Port with the ports of the running instances this user can see.</summary>
public sealed class PortCompleter : IArgumentCompleter
{
    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = CompletionSource.PatternFor(wordToComplete);
        foreach (var port in ControlClient.ListInstances().GroupBy(i => i.Port))
        {
            var text = port.Key.ToString(CultureInfo.InvariantCulture);
            if (pattern.IsMatch(text))
            {
                var tip = string.Join(", ", port.Select(i => InstanceTarget.Endpoint(i.BindAddress, i.Port) + " (pid " + i.ProcessId.ToString(CultureInfo.InvariantCulture) + ")"));
                yield return new CompletionResult(text, text, CompletionResultType.ParameterValue, tip);
            }
        }
    }
}
