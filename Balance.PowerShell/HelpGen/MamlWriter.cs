using System.Xml;

namespace Balance.HelpGen;

/// <summary>Writes help pages as MAML, the XML that Get-Help reads for binary cmdlets.</summary>
internal static class MamlWriter
{
    private const string Maml = "http://schemas.microsoft.com/maml/2004/10";
    private const string Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private const string Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static void Write(IEnumerable<HelpPage> pages, string path)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new System.Text.UTF8Encoding(false) };
        using var w = XmlWriter.Create(path, settings);
        w.WriteStartDocument();
        w.WriteStartElement("helpItems", Maml);
        w.WriteAttributeString("schema", "maml");
        foreach (var page in pages)
        {
            WriteCommand(w, page);
        }

        w.WriteEndElement();
        w.WriteEndDocument();
    }

    private static void WriteCommand(XmlWriter w, HelpPage page)
    {
        w.WriteStartElement("command", "command", Command);
        w.WriteAttributeString("xmlns", "maml", null, Maml);
        w.WriteAttributeString("xmlns", "command", null, Command);
        w.WriteAttributeString("xmlns", "dev", null, Dev);

        w.WriteStartElement("command", "details", Command);
        w.WriteElementString("command", "name", Command, page.Name);
        Paras(w, "description", [page.Synopsis]);
        var dash = page.Name.IndexOf('-', StringComparison.Ordinal);
        w.WriteElementString("command", "verb", Command, page.Name[..dash]);
        w.WriteElementString("command", "noun", Command, page.Name[(dash + 1)..]);
        w.WriteEndElement();

        Paras(w, "description", page.Description);

        w.WriteStartElement("command", "syntax", Command);
        foreach (var set in page.ParameterSets)
        {
            w.WriteStartElement("command", "syntaxItem", Command);
            w.WriteElementString("maml", "name", Maml, page.Name);
            foreach (var p in page.Parameters.Where(p => p.InSet(set)))
            {
                WriteParameter(w, p, inSyntax: true);
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();

        w.WriteStartElement("command", "parameters", Command);
        foreach (var p in page.Parameters)
        {
            WriteParameter(w, p, inSyntax: false);
        }

        w.WriteEndElement();

        WriteTypes(w, "inputTypes", "inputType", page.Inputs);
        WriteTypes(w, "returnValues", "returnValue", page.Outputs);

        w.WriteStartElement("maml", "alertSet", Maml);
        w.WriteStartElement("maml", "alert", Maml);
        foreach (var note in page.Notes)
        {
            w.WriteElementString("maml", "para", Maml, note);
        }

        w.WriteEndElement();
        w.WriteEndElement();

        w.WriteStartElement("command", "examples", Command);
        foreach (var e in page.Examples)
        {
            w.WriteStartElement("command", "example", Command);
            w.WriteElementString("maml", "title", Maml, "-------------------------- " + e.Title + " --------------------------");
            w.WriteElementString("dev", "code", Dev, e.Code);
            w.WriteStartElement("dev", "remarks", Dev);
            foreach (var r in e.Remarks)
            {
                w.WriteElementString("maml", "para", Maml, r);
            }

            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteEndElement();

        w.WriteStartElement("command", "relatedLinks", Command);
        foreach (var (text, uri) in page.Links)
        {
            w.WriteStartElement("maml", "navigationLink", Maml);
            w.WriteElementString("maml", "linkText", Maml, text);
            w.WriteElementString("maml", "uri", Maml, uri.StartsWith("http", StringComparison.Ordinal) ? uri : string.Empty);
            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteEndElement();
    }

    /// <summary>
    /// In SYNTAX a switch has no value element, so Get-Help shows [-PassThru] rather than
    /// [-PassThru &lt;SwitchParameter&gt;]; the PARAMETERS section keeps its type.
    /// </summary>
    private static void WriteParameter(XmlWriter w, HelpParameter p, bool inSyntax)
    {
        w.WriteStartElement("command", "parameter", Command);
        w.WriteAttributeString("required", p.Required ? "true" : "false");
        w.WriteAttributeString("variableLength", "true");
        w.WriteAttributeString("globbing", p.Wildcards ? "true" : "false");
        w.WriteAttributeString("pipelineInput", p.PipelineInput);
        w.WriteAttributeString("position", p.Position == "Named" ? "named" : p.Position);
        w.WriteAttributeString("aliases", p.Aliases.Length == 0 ? "none" : p.Aliases);
        w.WriteElementString("maml", "name", Maml, p.Name);
        Paras(w, "description", p.Description);
        var isSwitch = p.Type == "SwitchParameter";
        if (!(isSwitch && inSyntax))
        {
            w.WriteStartElement("command", "parameterValue", Command);
            w.WriteAttributeString("required", isSwitch ? "false" : "true");
            w.WriteAttributeString("variableLength", "false");
            w.WriteString(p.Type);
            w.WriteEndElement();
        }

        w.WriteStartElement("dev", "type", Dev);
        w.WriteElementString("maml", "name", Maml, p.Type);
        w.WriteElementString("maml", "uri", Maml, string.Empty);
        w.WriteEndElement();
        w.WriteElementString("dev", "defaultValue", Dev, p.DefaultValue);
        w.WriteEndElement();
    }

    private static void WriteTypes(XmlWriter w, string listName, string itemName, IReadOnlyList<HelpTypeEntry> entries)
    {
        w.WriteStartElement("command", listName, Command);
        foreach (var e in entries)
        {
            w.WriteStartElement("command", itemName, Command);
            w.WriteStartElement("dev", "type", Dev);
            w.WriteElementString("maml", "name", Maml, e.Type);
            w.WriteEndElement();
            Paras(w, "description", e.Description);
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void Paras(XmlWriter w, string element, IEnumerable<string> paragraphs)
    {
        w.WriteStartElement("maml", element, Maml);
        foreach (var p in paragraphs)
        {
            w.WriteElementString("maml", "para", Maml, p);
        }

        w.WriteEndElement();
    }
}
