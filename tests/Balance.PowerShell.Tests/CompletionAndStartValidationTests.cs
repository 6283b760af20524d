using System.Globalization;
using System.Management.Automation;
using Balance.Configuration;

namespace BalancePowerShellTests;

public sealed class CompletionAndStartValidationTests : IDisposable
{
    private readonly FakeInstance fake = FakeInstance.WithSampleChannels();
    private readonly PowerShellSession ps = new();

    public void Dispose()
    {
        ps.Dispose();
        fake.Dispose();
    }

    [Fact]
    public void Port_completes_with_running_instances()
    {
        var prefix = fake.Port.ToString(CultureInfo.InvariantCulture)[..3];
        Assert.Contains(fake.Port.ToString(CultureInfo.InvariantCulture), Complete("Get-BalanceChannel -Port " + prefix));
        Assert.Contains(fake.Port.ToString(CultureInfo.InvariantCulture), Complete("Stop-Balance -Port "));
    }

    [Fact]
    public void Group_and_index_complete_from_the_bound_instance()
    {
        Assert.Equal(["0", "1"], Complete($"Set-BalanceGroup -Port {fake.Port} -Group "));
        Assert.Equal(["0", "1", "2"], Complete($"Disable-BalanceChannel -Port {fake.Port} -Index "));
        Assert.Equal(["0"], Complete($"Enable-BalanceChannel -Port {fake.Port} -Group 1 -Index "));
        Assert.Empty(Complete($"Enable-BalanceChannel -Port {FreePort.Next()} -Index "));
    }

    [Fact]
    public void Group_type_completes_every_policy()
    {
        Assert.Equal(["Hash", "LeastConnections", "Maglev", "RoundRobin", "WeightedRoundRobin"], Complete($"Set-BalanceGroup -Port {fake.Port} -Group 0 -Type "));
        Assert.Equal(["Maglev"], Complete($"Set-BalanceGroup -Port {fake.Port} -Group 0 -Type Ma"));
    }

    [Fact]
    public void New_BalanceGroup_checks_its_channels()
    {
        var g = ps.Run("New-BalanceGroup -Channel a:80, 'b:81:5' -Type Hash").ThrowOnError().Of("BalanceGroupSpec")[0];
        Assert.Equal("Hash", g.P<string>("Type"));
        Assert.Equal(["a:80", "b:81:5"], g.P<string[]>("Channel"));
        Assert.Equal(["InvalidChannelList,Balance.PowerShell.NewBalanceGroupCommand"], ps.Run("New-BalanceGroup a:80, '!', b:80").ErrorIds);
        Assert.Equal(["InvalidChannelList,Balance.PowerShell.NewBalanceGroupCommand"], ps.Run("New-BalanceGroup 'a:port'").ErrorIds);
    }

    [Fact]
    public void Start_Balance_rejects_bad_input_before_starting_anything()
    {
        var port = FreePort.Next();
        Assert.Equal(["InvalidConfiguration,Balance.PowerShell.StartBalanceCommand"], ps.Run("Start-Balance $args[0] 'host:notaport'", port).ErrorIds);
        Assert.Equal(["InvalidConfiguration,Balance.PowerShell.StartBalanceCommand"], ps.Run("Start-Balance $args[0] a, '!', b -Type Hash", port).ErrorIds);
        Assert.Equal(["InvalidConfiguration,Balance.PowerShell.StartBalanceCommand"], ps.Run("Start-Balance $args[0] '!', a", port).ErrorIds);
        var r = ps.Run("Start-Balance -Port $args[0] -Channel a -ConnectTimeout 0", port);
        Assert.StartsWith("ParameterArgumentValidationError,", Assert.Single(r.ErrorIds), StringComparison.Ordinal);
        foreach (var workers in new[] { -1, BalanceConfiguration.LimitWorkers + 1 })
        {
            r = ps.Run("Start-Balance -Port $args[0] -Channel a -Workers $args[1]", port, workers);
            Assert.StartsWith("ParameterArgumentValidationError,", Assert.Single(r.ErrorIds), StringComparison.Ordinal);
        }

        r = ps.Run("Start-Balance -Port $args[0] -Channel a -Detached -Name x", port);
        Assert.StartsWith("AmbiguousParameterSet,", Assert.Single(r.ErrorIds), StringComparison.Ordinal);
    }

    [Fact]
    public void Start_Balance_WhatIf_starts_nothing()
    {
        var port = FreePort.Next();
        Assert.Empty(ps.Run("Start-Balance -Port $args[0] -Channel 127.0.0.1:9 -WhatIf; Start-Balance -Port $args[0] -Channel 127.0.0.1:9 -Detached -WhatIf", port).ThrowOnError().Output);
        Assert.Empty(ps.Run("Get-Job").Output);
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.GetBalanceCommand"], ps.Run("Get-Balance -Port $args[0]", port).ErrorIds);
    }

    private string[] Complete(string input)
    {
        using var shell = PowerShell.Create();
        shell.Runspace = ps.Runspace;
        var result = CommandCompletion.CompleteInput(input, input.Length, null, shell);
        return result.CompletionMatches.Select(m => m.CompletionText).ToArray();
    }
}
