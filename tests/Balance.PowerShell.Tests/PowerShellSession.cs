using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using SMA = System.Management.Automation;

namespace BalancePowerShellTests;

/// <summary>
/// The real PowerShell engine hosted in this process with Balance.psd1 (the repository root
/// manifest) imported, driven by PowerShell script as a user would.
/// </summary>
public sealed class PowerShellSession : IDisposable
{
    private readonly Runspace runspace;

    public PowerShellSession(bool importModule = true)
    {
        runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        if (importModule)
        {
            Run("Import-Module -Name $args[0] -ErrorAction Stop", RepoPaths.Manifest).ThrowOnError();
        }
    }

    public Runspace Runspace => runspace;

    /// <summary>Runs a script; $args holds <paramref name="args"/>. Terminating errors are captured, not thrown.</summary>
    public PsResult Run(string script, params object?[] args)
    {
        using var ps = SMA.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        foreach (var a in args)
        {
            ps.AddArgument(a);
        }

        Collection<PSObject> output = [];
        Exception? terminating = null;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException e)
        {
            terminating = e;
        }

        return new PsResult(output, ps.Streams.Error.ToArray(), terminating, ps.Streams.Warning.Select(w => w.Message).ToArray());
    }

    public void Dispose()
    {
        Run("Get-Job | Where-Object PSJobTypeName -eq 'BalanceJob' | Remove-Job -Force");
        runspace.Dispose();
    }
}

public sealed record PsResult(Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, Exception? Terminating, IReadOnlyList<string> Warnings)
{
    public PsResult ThrowOnError()
    {
        if (Terminating is not null)
        {
            throw new InvalidOperationException("script failed: " + Terminating.Message, Terminating);
        }

        if (Errors.Count > 0)
        {
            throw new InvalidOperationException("script wrote errors: " + string.Join(" | ", Errors.Select(e => e.FullyQualifiedErrorId + ": " + e.Exception.Message)));
        }

        return this;
    }

    /// <summary>The FullyQualifiedErrorId of every error, terminating ones included.</summary>
    public IReadOnlyList<string> ErrorIds =>
        Errors.Select(e => e.FullyQualifiedErrorId)
            .Concat(Terminating is IContainsErrorRecord r ? [r.ErrorRecord.FullyQualifiedErrorId] : [])
            .ToArray();

    public PSObject Single => Assert.Single(Output);

    /// <summary>The output, checked to be objects of the module type <paramref name="typeName"/> (e.g. "BalanceChannel").</summary>
    public IReadOnlyList<PSObject> Of(string typeName)
    {
        Assert.All(Output, o => Assert.Equal("Balance.PowerShell." + typeName, o.BaseObject.GetType().FullName));
        return Output;
    }

    public IReadOnlyList<string> Strings => Output.Select(o => o.BaseObject.ToString() ?? string.Empty).ToArray();
}

public static class PSObjectExtensions
{
    /// <summary>A property of an output object, converted the PowerShell way.</summary>
    public static T P<T>(this PSObject o, string name)
    {
        ArgumentNullException.ThrowIfNull(o);
        var property = o.Properties[name] ?? throw new InvalidOperationException($"{o.BaseObject.GetType().Name} has no property {name}");
        return LanguagePrimitives.ConvertTo<T>(property.Value);
    }
}
