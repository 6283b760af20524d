using System.Text.RegularExpressions;

namespace Balance.HelpGen;

/// <summary>One cmdlet's help as read from a platyPS-style markdown page.</summary>
internal sealed record HelpPage(
    string Name,
    string Synopsis,
    IReadOnlyList<string> Description,
    IReadOnlyList<string> ParameterSets,
    IReadOnlyList<HelpExample> Examples,
    IReadOnlyList<HelpParameter> Parameters,
    IReadOnlyList<HelpTypeEntry> Inputs,
    IReadOnlyList<HelpTypeEntry> Outputs,
    IReadOnlyList<string> Notes,
    IReadOnlyList<(string Text, string Uri)> Links)
{
    public static HelpPage Parse(string markdown, string file)
    {
        var sections = Sections(markdown.Replace("\r\n", "\n", StringComparison.Ordinal), file);
        var name = Regex.Match(markdown, @"^# (\S+)\s*$", RegexOptions.Multiline).Groups[1].Value;
        if (name.Length == 0)
        {
            throw new FormatException($"{file}: no '# Cmdlet-Name' title");
        }

        return new HelpPage(
            name,
            string.Join(' ', Paragraphs(Get(sections, "SYNOPSIS", file))),
            Paragraphs(Get(sections, "DESCRIPTION", file)),
            Subsections(Get(sections, "SYNTAX", file)).Select(s => s.Title.Replace("(Default)", string.Empty, StringComparison.Ordinal).Trim()).ToArray(),
            Subsections(Get(sections, "EXAMPLES", file)).Select(HelpExample.Parse).ToArray(),
            Subsections(Get(sections, "PARAMETERS", file)).Where(s => s.Title.StartsWith('-')).Select(s => HelpParameter.Parse(s, file)).ToArray(),
            Subsections(Get(sections, "INPUTS", file)).Select(s => new HelpTypeEntry(s.Title, Paragraphs(s.Body))).ToArray(),
            Subsections(Get(sections, "OUTPUTS", file)).Select(s => new HelpTypeEntry(s.Title, Paragraphs(s.Body))).ToArray(),
            sections.TryGetValue("NOTES", out var notes) ? Paragraphs(notes) : [],
            sections.TryGetValue("RELATED LINKS", out var links)
                ? Regex.Matches(links, @"\[([^\]]+)\]\(([^)]*)\)").Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToArray()
                : []);
    }

    /// <summary>Prose paragraphs; fenced code is kept verbatim as one paragraph.</summary>
    public static IReadOnlyList<string> Paragraphs(string text)
    {
        var result = new List<string>();
        foreach (Match m in Regex.Matches(text.Trim(), @"```[^\n]*\n(.*?)```|((?:(?!```)[^\n]+\n?)+)", RegexOptions.Singleline))
        {
            if (m.Groups[1].Success)
            {
                result.Add(m.Groups[1].Value.TrimEnd());
                continue;
            }

            // A list keeps its shape: each "- " item is a paragraph of its own, so Get-Help shows one per line.
            foreach (var item in Regex.Split(m.Groups[2].Value.Trim(), @"\n(?=\s*- )"))
            {
                var p = Regex.Replace(item.Trim(), @"\s*\n\s*", " ");
                if (p.Length > 0)
                {
                    result.Add(p);
                }
            }
        }

        return result;
    }

    public static IReadOnlyList<(string Title, string Body)> Subsections(string text) =>
        Regex.Matches(text, @"^### ([^\n]+)\n(.*?)(?=^### |\z)", RegexOptions.Multiline | RegexOptions.Singleline)
            .Select(m => (m.Groups[1].Value.Trim(), m.Groups[2].Value))
            .ToArray();

    private static Dictionary<string, string> Sections(string markdown, string file)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Regex.Matches(markdown, @"^## ([^\n]+)\n(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline))
        {
            if (!result.TryAdd(m.Groups[1].Value.Trim(), m.Groups[2].Value))
            {
                throw new FormatException($"{file}: section '{m.Groups[1].Value}' appears twice");
            }
        }

        return result;
    }

    private static string Get(Dictionary<string, string> sections, string name, string file) =>
        sections.TryGetValue(name, out var text) ? text : throw new FormatException($"{file}: no '## {name}' section");
}

internal sealed record HelpExample(string Title, string Code, IReadOnlyList<string> Remarks)
{
    public static HelpExample Parse((string Title, string Body) section)
    {
        var code = Regex.Match(section.Body, @"```[^\n]*\n(.*?)```", RegexOptions.Singleline);
        var remarks = code.Success ? section.Body.Remove(code.Index, code.Length) : section.Body;
        return new HelpExample(section.Title, code.Success ? code.Groups[1].Value.TrimEnd() : string.Empty, HelpPage.Paragraphs(remarks));
    }
}

internal sealed record HelpParameter(
    string Name,
    IReadOnlyList<string> Description,
    string Type,
    IReadOnlyList<string> Sets,
    string Aliases,
    bool Required,
    string Position,
    string DefaultValue,
    string PipelineInput,
    bool Wildcards)
{
    public static HelpParameter Parse((string Title, string Body) section, string file)
    {
        var yaml = Regex.Match(section.Body, @"```yaml\n(.*?)```", RegexOptions.Singleline);
        if (!yaml.Success)
        {
            throw new FormatException($"{file}: parameter {section.Title} has no yaml block");
        }

        var fields = yaml.Groups[1].Value.Split('\n')
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
        string Field(string key) => fields.TryGetValue(key, out var v) ? v : throw new FormatException($"{file}: parameter {section.Title} has no '{key}'");
        return new HelpParameter(
            section.Title.TrimStart('-'),
            HelpPage.Paragraphs(section.Body.Remove(yaml.Index, yaml.Length)),
            Field("Type"),
            Field("Parameter Sets").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            fields.TryGetValue("Aliases", out var aliases) ? aliases : string.Empty,
            bool.Parse(Field("Required")),
            Field("Position"),
            Field("Default value"),
            Field("Accept pipeline input"),
            bool.Parse(Field("Accept wildcard characters")));
    }

    public bool InSet(string set) => Sets.Contains("(All)") || Sets.Contains(set);
}

internal sealed record HelpTypeEntry(string Type, IReadOnlyList<string> Description);
