using System.Management.Automation;
using System.Management.Automation.Language;
using System.Reflection;
using System.Xml.Linq;

namespace BalancePowerShellTests;

/// <summary>The module's public contract: manifest, naming, ShouldProcess, views, help, parseable scripts.</summary>
public sealed class ModuleContractTests : IDisposable
{
    private static readonly string[] StateChanging = ["Start", "Stop", "Restart", "Enable", "Disable", "Add", "Set", "Reset", "Export", "Invoke", "Save"];
    private readonly PowerShellSession ps = new();

    public void Dispose() => ps.Dispose();

    private Assembly ModuleAssembly => (Assembly)ps.Run("[Balance.PowerShell.StartBalanceCommand].Assembly").ThrowOnError().Single.BaseObject;

    private Type[] CmdletTypes => ModuleAssembly.GetExportedTypes().Where(t => t.GetCustomAttribute<CmdletAttribute>() is not null).ToArray();

    [Fact]
    public void Manifest_exports_exactly_the_cmdlet_classes_and_nothing_else()
    {
        var module = ps.Run("Get-Module Balance").ThrowOnError().Single;
        var exported = ((System.Collections.IDictionary)module.P<object>("ExportedCmdlets")).Keys.Cast<string>().Order(StringComparer.Ordinal);
        var classes = CmdletTypes.Select(t => t.GetCustomAttribute<CmdletAttribute>()!).Select(a => a.VerbName + "-" + a.NounName).Order(StringComparer.Ordinal);
        Assert.Equal(classes, exported);
        Assert.Equal(19, classes.Count());
        foreach (var kind in new[] { "ExportedFunctions", "ExportedAliases", "ExportedVariables" })
        {
            Assert.Empty((System.Collections.IDictionary)module.P<object>(kind));
        }

        var manifest = ps.Run("Test-ModuleManifest -Path $args[0]", RepoPaths.Manifest).ThrowOnError().Single;
        Assert.Equal(["Core"], manifest.P<string[]>("CompatiblePSEditions"));
        Assert.Equal(new Version(7, 6), manifest.P<Version>("PowerShellVersion"));
        Assert.Contains("PSEdition_Core", manifest.P<string[]>("Tags"));
        Assert.Single(manifest.P<string[]>("ExportedFormatFiles"));
    }

    [Fact]
    public void Manifest_version_matches_Directory_Build_props_and_the_assembly()
    {
        var props = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Build.props"));
        var version = props.Descendants("Version").Single().Value;
        var manifest = ps.Run("(Get-Module Balance).Version.ToString()").ThrowOnError().Single.BaseObject;
        Assert.Equal(version, manifest);
        Assert.Equal(version, ModuleAssembly.GetName().Version!.ToString(3));
    }

    [Fact]
    public void Cmdlets_follow_the_naming_and_ShouldProcess_conventions()
    {
        var approved = new[] { typeof(VerbsCommon), typeof(VerbsLifecycle), typeof(VerbsData), typeof(VerbsDiagnostic), typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static)).Select(f => (string)f.GetValue(null)!).ToHashSet();
        foreach (var type in CmdletTypes)
        {
            var a = type.GetCustomAttribute<CmdletAttribute>()!;
            Assert.Contains(a.VerbName, approved);
            Assert.StartsWith("Balance", a.NounName, StringComparison.Ordinal);
            Assert.Equal(a.VerbName + a.NounName + "Command", type.Name);
            Assert.True(type.IsSealed, type.Name);
            // No public help site exists yet; a link that leads nowhere is worse than none.
            Assert.True(string.IsNullOrEmpty(a.HelpUri), type.Name);
            Assert.NotEmpty(type.GetCustomAttributes<OutputTypeAttribute>());
            var changes = StateChanging.Contains(a.VerbName);
            Assert.True(changes == a.SupportsShouldProcess, type.Name + " SupportsShouldProcess");
            if (changes && a.VerbName is not ("Start" or "Invoke"))
            {
                Assert.NotNull(type.GetProperty("PassThru"));
            }

            if (changes)
            {
                Assert.Equal(a.VerbName is "Stop" or "Reset" ? ConfirmImpact.High : ConfirmImpact.Medium, a.ConfirmImpact);
            }
            if (type.GetProperty("Port") is { } port)
            {
                Assert.NotNull(port.GetCustomAttribute<ValidateRangeAttribute>());
            }
        }
    }

    [Theory]
    [InlineData("Add-BalanceChannel", true)]
    [InlineData("Set-BalanceGroup", true)]
    [InlineData("Stop-Balance", true)]
    [InlineData("Restart-Balance", true)]
    [InlineData("Save-BalanceLayout", true)]
    [InlineData("Get-Balance", false)]
    [InlineData("Get-BalanceGroup", false)]
    [InlineData("Get-BalanceChannel", false)]
    [InlineData("Get-BalanceCounter", false)]
    [InlineData("Export-BalanceCounter", false)]
    public void The_instance_is_named_by_port_first_and_both_port_and_bind_address_bind_by_property_name(string cmdlet, bool changesOne)
    {
        // A cmdlet that changes one instance needs its port; one that reads takes every instance without it.
        var parameters = (IDictionary<string, ParameterMetadata>)ps.Run("(Get-Command $args[0]).Parameters", cmdlet).ThrowOnError().Single.BaseObject;
        var port = Assert.Single(parameters["Port"].ParameterSets.Values);
        Assert.Equal(changesOne, port.IsMandatory);
        Assert.Equal(0, port.Position);
        Assert.True(port.ValueFromPipelineByPropertyName);
        Assert.Contains(parameters["Port"].Attributes, a => a is ArgumentCompleterAttribute);
        var bind = Assert.Single(parameters["BindAddress"].ParameterSets.Values);
        Assert.False(bind.IsMandatory);
        Assert.True(bind.ValueFromPipelineByPropertyName);
    }

    [Fact]
    public void Invoke_BalanceCommand_takes_its_command_first_and_its_instance_by_name_or_property_name()
    {
        var parameters = (IDictionary<string, ParameterMetadata>)ps.Run("(Get-Command Invoke-BalanceCommand).Parameters").ThrowOnError().Single.BaseObject;
        Assert.Equal(0, Assert.Single(parameters["Command"].ParameterSets.Values).Position);
        var port = Assert.Single(parameters["Port"].ParameterSets.Values);
        Assert.True(port.IsMandatory);
        Assert.Equal(int.MinValue, port.Position);
        Assert.True(port.ValueFromPipelineByPropertyName);
        var bind = Assert.Single(parameters["BindAddress"].ParameterSets.Values);
        Assert.False(bind.IsMandatory);
        Assert.True(bind.ValueFromPipelineByPropertyName);
        Assert.Contains(parameters["BindAddress"].Attributes, a => a is ValidateNotNullOrEmptyAttribute);
    }

    [Fact]
    public void Every_output_type_has_a_table_view_and_every_view_a_type()
    {
        var format = XDocument.Load(Path.Combine(RepoPaths.ModuleFolder, "Balance.format.ps1xml"));
        var viewed = format.Descendants("TypeName").Select(e => e.Value).ToHashSet();
        var outputs = CmdletTypes.SelectMany(t => t.GetCustomAttributes<OutputTypeAttribute>()).SelectMany(o => o.Type).Select(t => t.Type)
            .Where(t => t?.Assembly == ModuleAssembly).Select(t => t!.FullName!).ToHashSet();
        outputs.Add("Balance.PowerShell.BalanceEngineEvent");
        Assert.Subset(outputs, viewed);
        Assert.All(viewed, v => Assert.NotNull(ModuleAssembly.GetType(v)));
        var loaded = ps.Run("(Get-Module Balance).ExportedFormatFiles").ThrowOnError().Strings;
        Assert.True(File.Exists(Assert.Single(loaded)));

        // The engine's own loader: throws FormatTableLoadException naming any view it cannot use.
        _ = new System.Management.Automation.Runspaces.FormatTable([loaded[0]]);
    }

    [Fact]
    public void Every_cmdlet_and_parameter_has_help_with_examples()
    {
        var common = PSCmdlet.CommonParameters.Concat(PSCmdlet.OptionalCommonParameters).Except(["WhatIf", "Confirm"]).ToHashSet();
        foreach (var type in CmdletTypes)
        {
            var a = type.GetCustomAttribute<CmdletAttribute>()!;
            var name = a.VerbName + "-" + a.NounName;
            var help = ps.Run("Get-Help -Name $args[0] -Full", name).ThrowOnError().Single;
            var synopsis = help.P<string>("Synopsis").Trim();
            Assert.False(synopsis.StartsWith(name, StringComparison.Ordinal), name + " has no synopsis (Get-Help fell back to the syntax)");
            var documented = ps.Run("$args[0].parameters.parameter | ForEach-Object { if (($_.description | ForEach-Object Text) -join '') { $_.name } }", help).ThrowOnError().Strings.ToHashSet();
            var commandInfo = ps.Run("Get-Command -Name $args[0]", name).ThrowOnError().Single.BaseObject as CmdletInfo;
            foreach (var parameter in commandInfo!.Parameters.Keys.Where(p => !common.Contains(p)))
            {
                Assert.True(documented.Contains(parameter), $"{name} -{parameter} has no help");
            }

            var examples = ps.Run("@($args[0].examples.example).Count", help).ThrowOnError().Single.BaseObject;
            Assert.True((int)examples >= commandInfo.ParameterSets.Count, name + " needs an example per parameter set");
        }
    }

    [Fact]
    public void Every_ps1_file_in_the_repository_parses()
    {
        var files = Directory.EnumerateFiles(RepoPaths.Root, "*.ps1", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or ".git" or "out"))
            .ToArray();
        Assert.Contains(files, f => f.EndsWith("build.ps1", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("Balance.Tests.ps1", StringComparison.Ordinal));
        foreach (var file in files)
        {
            Parser.ParseFile(file, out _, out var errors);
            Assert.True(errors.Length == 0, file + ": " + string.Join("; ", errors.Select(e => $"{e.Extent.StartLineNumber}: {e.Message}")));
        }
    }
}
