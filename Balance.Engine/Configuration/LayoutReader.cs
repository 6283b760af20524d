using System.Globalization;
using Balance.Control;
using Balance.Policies;

namespace Balance.Configuration;

/// <summary>
/// Reads the text of a layout file (docs/layout-file.md) whole before anything uses it: any
/// mistake is one <see cref="ConfigurationException"/> naming the file, the line and the fix, so an
/// instance never starts from half a file. Pure: no files, no network.
/// </summary>
internal sealed class LayoutReader
{
    private const string ChannelWords = "maxc, weight, enabled, disabled, draining, check-interval, check-rise, check-fall, check-port";
    private static readonly char[] Blanks = [' ', '\t'];

    private readonly string file;
    private readonly List<GroupSpec> groups = [];
    private readonly List<List<int>> lines = [];
    private readonly Dictionary<int, int> groupLines = [];
    private List<ChannelSpec>? current;
    private int currentGroup = -1;
    private int lineNumber;
    private int? endCount;

    private LayoutReader(string file)
    {
        this.file = file;
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="file"/> names the file in error messages.</summary>
    public static BalanceLayout Parse(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(file);
        return new LayoutReader(file).Read(text);
    }

    private BalanceLayout Read(string text)
    {
        var all = text.Split('\n');

        // A file that ends with its newline splits into one empty last piece, which is no line.
        var count = all.Length > 0 && all[^1].Length == 0 ? all.Length - 1 : all.Length;
        for (lineNumber = 1; lineNumber <= count; lineNumber++)
        {
            var line = all[lineNumber - 1].TrimEnd('\r');
            if (lineNumber == 1)
            {
                Header(line);
                continue;
            }

            var words = line.Split(Blanks, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 || words[0].StartsWith('#'))
            {
                continue;
            }

            if (endCount is not null)
            {
                throw Bad($"text after the end line: [{line.Trim()}]; the end line must be the last record");
            }

            Record(words);
        }

        if (count == 0)
        {
            lineNumber = 1;
            throw Bad($"the file is empty; a layout file starts with '{BalanceLayout.Magic} {BalanceLayout.FormatVersion}' (save one with: balance -c \"save FILE\" PORT)");
        }

        if (endCount is not { } expected)
        {
            lineNumber = count;
            throw Bad("the file ends here without its end line: it is truncated (save it again), or add 'end N channels' after the last channel");
        }

        var found = groups.Sum(g => g.Channels.Count);
        if (found == 0)
        {
            throw Bad("the layout holds no channel; give at least one group with a channel");
        }

        if (expected != found)
        {
            lineNumber = count;
            throw Bad(string.Create(CultureInfo.InvariantCulture, $"the end line counts {expected} channels but the file holds {found}: part of it is missing (save it again), or after an edit correct the count"));
        }

        return new BalanceLayout(Dense()) { ChannelLines = lines };
    }

    private void Header(string line)
    {
        var words = line.Split(Blanks, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words[0] != BalanceLayout.Magic)
        {
            throw Bad($"not a Balance layout file: its first line must be '{BalanceLayout.Magic} {BalanceLayout.FormatVersion}'");
        }

        var expected = BalanceLayout.FormatVersion.ToString(CultureInfo.InvariantCulture);
        if (words.Length != 2 || words[1] != expected)
        {
            throw Bad($"layout version [{string.Join(' ', words.Skip(1))}] is not one this Balance reads (it reads version {expected}); save the layout again with this version");
        }
    }

    private void Record(string[] words)
    {
        switch (words[0])
        {
            case "group":
                Group(words);
                break;
            case "channel":
                Channel(words);
                break;
            case "end":
                End(words);
                break;
            default:
                throw Bad($"unknown record [{words[0]}]: a line is a group, channel or end record, or a comment starting with #");
        }
    }

    private void Group(string[] words)
    {
        if (words.Length != 3)
        {
            throw Bad($"a group line is 'group N POLICY' (POLICY one of {PolicyCatalog.Words})");
        }

        var index = Number(words[1], "group number", 0, BalanceConfiguration.LimitMaxGroups - 1);
        if (groupLines.TryGetValue(index, out var first))
        {
            throw Bad(string.Create(CultureInfo.InvariantCulture, $"group {index} appears twice (first at line {first}); merge its channels under one group line"));
        }

        if (index < currentGroup)
        {
            throw Bad(string.Create(CultureInfo.InvariantCulture, $"group {index} after group {currentGroup}: write the groups in ascending order"));
        }

        var policy = PolicyCatalog.FindByName(words[2])
            ?? throw Bad($"unknown policy [{words[2]}]: use one of {PolicyCatalog.Words}");
        EndGroup();
        groupLines[index] = lineNumber;
        while (groups.Count < index)
        {
            groups.Add(new GroupSpec(GroupType.RoundRobin, []));
            lines.Add([]);
        }

        currentGroup = index;
        current = [];
        groups.Add(new GroupSpec((GroupType)policy.Id, current));
        lines.Add([]);
    }

    private void Channel(string[] words)
    {
        if (current is null)
        {
            throw Bad("a channel line before any group line: put 'group N POLICY' above it");
        }

        if (words.Length < 2)
        {
            throw Bad("a channel line is 'channel HOST:PORT' followed by its fields: " + ChannelWords);
        }

        var spec = Destination(words[1]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var checks = ChannelCheckOverrides.None;
        for (var i = 2; i < words.Length; i++)
        {
            var word = words[i];
            var key = word is "enabled" or "disabled" or "draining" ? "state" : word;
            if (!seen.Add(key))
            {
                throw Bad(key == "state" ? $"a second state [{word}]: a channel is one of enabled, disabled, draining" : $"[{word}] given twice: give each field once");
            }

            switch (word)
            {
                case "enabled": spec = spec with { AdminState = ChannelAdminState.Enabled }; continue;
                case "disabled": spec = spec with { AdminState = ChannelAdminState.Disabled }; continue;
                case "draining": spec = spec with { AdminState = ChannelAdminState.Draining }; continue;
            }

            if (!IsField(word))
            {
                throw Bad($"unknown word [{word}]: a channel line takes {ChannelWords}");
            }

            if (i + 1 >= words.Length)
            {
                throw Bad($"[{word}] needs a value, e.g. {word} 1");
            }

            (spec, checks) = Field(spec, checks, word, words[++i]);
        }

        if (current.Count >= BalanceConfiguration.LimitMaxChannelsPerGroup)
        {
            throw Bad(string.Create(CultureInfo.InvariantCulture, $"group {currentGroup} has more than {BalanceConfiguration.LimitMaxChannelsPerGroup} channels, the most a group holds"));
        }

        current.Add(spec with { CheckOverrides = checks });
        lines[^1].Add(lineNumber);
    }

    /// <summary>One <c>word value</c> pair of a channel line, <paramref name="word"/> known to be a field.</summary>
    private (ChannelSpec Spec, ChannelCheckOverrides Checks) Field(ChannelSpec spec, ChannelCheckOverrides checks, string word, string value) => word switch
    {
        "maxc" => (spec with { MaxConnections = Number(value, "maxc", 0, int.MaxValue) }, checks),
        "weight" => (spec with { Weight = Number(value, "weight", 0, ControlClient.MaxWeight) }, checks),
        "check-interval" => (spec, checks with { IntervalMs = Interval(value) }),
        "check-rise" => (spec, checks with { Rise = Number(value, "check-rise", 0, HealthCheckOptions.MaxCount) }),
        "check-fall" => (spec, checks with { Fall = Number(value, "check-fall", 0, HealthCheckOptions.MaxCount) }),
        _ => (spec, checks with { Port = Number(value, "check-port", 0, 65535) }),
    };

    private static bool IsField(string word) =>
        word is "maxc" or "weight" or "check-interval" or "check-rise" or "check-fall" or "check-port";

    private void End(string[] words)
    {
        if (words.Length != 3 || words[2] != "channels")
        {
            throw Bad("the end line is 'end N channels', N the channels in the file");
        }

        EndGroup();
        endCount = Number(words[1], "channel count", 0, int.MaxValue);
    }

    private void EndGroup()
    {
        if (current is { Count: 0 })
        {
            lineNumber = groupLines[currentGroup];
            throw Bad(string.Create(CultureInfo.InvariantCulture, $"group {currentGroup} has no channel lines: add its channels below it or remove the group line"));
        }
    }

    /// <summary><c>host:port</c> or <c>[v6]:port</c>, the port required and numeric, so the file means the same on every machine.</summary>
    private ChannelSpec Destination(string token)
    {
        string host;
        string port;
        if (token.StartsWith('['))
        {
            var close = token.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= token.Length || token[close + 1] != ':')
            {
                throw Bad($"bad address [{token}]: write an IPv6 address as [ADDRESS]:PORT");
            }

            host = token[1..close];
            port = token[(close + 2)..];
            if (!System.Net.IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                throw Bad($"bad address [{token}]: '{host}' inside brackets is not an IPv6 address");
            }
        }
        else
        {
            var colon = token.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || colon != token.LastIndexOf(':'))
            {
                throw Bad(colon < 0
                    ? $"bad address [{token}]: the port is missing; write HOST:PORT"
                    : $"bad address [{token}]: write HOST:PORT, with an IPv6 address in brackets ([2001:db8::1]:80)");
            }

            host = token[..colon];
            port = token[(colon + 1)..];
        }

        if (host.Length == 0 || host.Length > ChannelSpec.MaxHostLength || host.AsSpan().ContainsAny('[', ']', '#'))
        {
            throw Bad($"bad address [{token}]: give a host name or IP address of 1 to {ChannelSpec.MaxHostLength} characters, then :PORT");
        }

        return new ChannelSpec(host, Number(port, "port", 1, 65535), 0);
    }

    private int Interval(string value)
    {
        var ms = Number(value, "check-interval", 0, (int)HealthCheckOptions.MaxPeriod.TotalMilliseconds);
        return ms is 0 or >= 10 ? ms : throw Bad($"check-interval [{value}] is out of range: give 10 to {(int)HealthCheckOptions.MaxPeriod.TotalMilliseconds} milliseconds, or 0 for the instance's");
    }

    private int Number(string text, string what, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            var digits = text.TrimStart('-', '+');
            throw Bad(digits.Length > 0 && digits.All(char.IsAsciiDigit)
                ? string.Create(CultureInfo.InvariantCulture, $"{what} [{text}] is out of range: give {min} to {max}")
                : string.Create(CultureInfo.InvariantCulture, $"{what} [{text}] is not a number: give {min} to {max}"));
        }

        return value >= min && value <= max
            ? value
            : throw Bad(string.Create(CultureInfo.InvariantCulture, $"{what} [{text}] is out of range: give {min} to {max}"));
    }

    /// <summary>Groups as one list indexed by group number: gaps are empty groups.</summary>
    private GroupSpec[] Dense() => groups.Select(g => g with { Channels = g.Channels.ToArray() }).ToArray();

    private ConfigurationException Bad(string why) =>
        new(string.Create(CultureInfo.InvariantCulture, $"layout file {file} line {lineNumber}: {why}"), file, ExitCodes.DataError);
}
