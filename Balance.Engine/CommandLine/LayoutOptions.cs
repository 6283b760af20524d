using Balance.Configuration;

namespace Balance.CommandLine;

/// <summary>
/// <c>--layout FILE</c> and <c>--state-file FILE</c>: the groups and channels come from a layout
/// file instead of the command line. A state file that exists wins over both the command line's
/// channels and <c>--layout</c> (those are the first start's layout); one that does not exist yet is
/// created by the engine once it runs. <c>--layout</c> with channels is a usage error: one
/// source of channels, never a merge.
/// </summary>
internal sealed class LayoutOptions
{
    public const string LayoutName = "layout";
    public const string StateFileName = "state-file";

    private string? layout;

    /// <summary><c>--state-file</c>; null when not given.</summary>
    public string? StateFile { get; private set; }

    public void Set(string name, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ConfigurationException($"option --{name} has an empty value: give the layout file, e.g. --{name} /etc/balance/8080.layout", "--" + name, ExitCodes.Usage);
        }

        if (name == LayoutName)
        {
            layout = value;
        }
        else
        {
            // Absolute now: a detached engine leaves this working directory before it writes.
            StateFile = Path.GetFullPath(value);
        }
    }

    /// <summary>Both options describe a proxy to start: with -i, -c, --metrics-file or --policy they are a usage error.</summary>
    public void RejectOutsideStart(bool controlMode, bool policyGiven)
    {
        var name = layout is not null ? LayoutName : StateFile is not null ? StateFileName : null;
        if (name is null)
        {
            return;
        }

        if (controlMode)
        {
            throw new ConfigurationException($"option --{name} gives the channels of a proxy you start, not with -i, -c or --metrics-file (there, save a layout with the shell command save FILE)", "--" + name, ExitCodes.Usage);
        }

        if (policyGiven)
        {
            throw new ConfigurationException($"option --policy cannot change a layout from --{name}: the file gives every group its policy; edit the file instead", "--policy", ExitCodes.Usage);
        }
    }

    /// <summary>
    /// A takeover copies the running instance's layout, so a layout file with it would be ignored:
    /// refuse it. A state file is kept current by the new engine as by any other.
    /// </summary>
    public void RejectWithTakeover()
    {
        if (layout is not null)
        {
            throw new ConfigurationException("option --layout cannot go with --takeover: the new engine copies the running instance's layout; start from a file with --layout alone, or load it after the takeover", "--layout", ExitCodes.Usage);
        }
    }

    /// <summary>The groups from the state file when it exists, else from --layout; null when the command line's channels are meant.</summary>
    public IReadOnlyList<GroupSpec>? Groups(string[] operands)
    {
        if (layout is not null && operands.Length > 1)
        {
            throw new ConfigurationException(
                $"option --layout gives the groups and channels: give either --layout FILE or channels after the port, not both (unexpected [{operands[1]}])",
                operands[1],
                ExitCodes.Usage);
        }

        if (StateFile is not null && File.Exists(StateFile))
        {
            return LayoutFile.Load(StateFile).Groups;
        }

        if (layout is not null)
        {
            return LayoutFile.Load(layout).Groups;
        }

        return null;
    }
}
