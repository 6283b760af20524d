namespace Balance.HelpGen;

/// <summary>
/// Builds the module's MAML help (en-US/Balance.PowerShell.dll-Help.xml) from the platyPS-style
/// pages in docs/cmdlets, so the markdown stays the one source of the help text.
/// Usage: Balance.HelpGen &lt;docs/cmdlets folder&gt; &lt;output xml&gt;
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length != 2 || !Directory.Exists(args[0]))
        {
            Console.Error.WriteLine("usage: Balance.HelpGen <folder of cmdlet pages> <output MAML file>");
            return 64;
        }

        try
        {
            var pages = Directory.GetFiles(args[0], "*-*.md")
                .Order(StringComparer.Ordinal)
                .Select(f => HelpPage.Parse(File.ReadAllText(f), Path.GetFileName(f)))
                .ToArray();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(args[1]))!);
            MamlWriter.Write(pages, args[1]);
            return 0;
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine("Balance.HelpGen: " + e.Message);
            return 65;
        }
    }
}
