using Balance.Configuration;

namespace Balance.PowerShell;

/// <summary>
/// Where Start-Balance takes its groups from, by the rule of <c>balance --state-file</c>: a state
/// file that exists wins, then -LayoutPath, then -Channel or -Group. A file is read and checked
/// whole here, before anything starts.
/// </summary>
internal static class StartLayout
{
    public static IReadOnlyList<GroupSpec> Groups(StartBalanceCommand command, Func<IReadOnlyList<GroupSpec>> fromParameters)
    {
        if (command.StateFile is { } state && command.GetUnresolvedProviderPathFromPSPath(state) is var statePath && File.Exists(statePath))
        {
            return LayoutFile.Load(statePath).Groups;
        }

        return command.LayoutFilePath is { } layout ? LayoutFile.Load(layout).Groups : fromParameters();
    }

    /// <summary>True for the failures that are about a layout file (its content, or reading it), not a parameter.</summary>
    public static bool IsFileError(ConfigurationException e) =>
        e.Message.StartsWith("layout file ", StringComparison.Ordinal) || e.Message.StartsWith("cannot read layout file ", StringComparison.Ordinal);
}
