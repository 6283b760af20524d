using System.Management.Automation;

namespace BalancePowerShellTests;

public sealed class GroupAndInstanceCmdletTests : IDisposable
{
    private readonly FakeInstance fake = FakeInstance.WithSampleChannels();
    private readonly PowerShellSession ps = new();

    public void Dispose()
    {
        ps.Dispose();
        fake.Dispose();
    }

    [Fact]
    public void Get_BalanceGroup_lists_groups_with_channels_or_the_ones_named()
    {
        var groups = ps.Run("Get-BalanceGroup -Port $args[0]", fake.Port).ThrowOnError().Of("BalanceGroup");
        Assert.Equal([(0, "RoundRobin", 3), (1, "Hash", 1)], groups.Select(g => (g.P<int>("Group"), g.P<string>("Type"), g.P<int>("ChannelCount"))));
        var empty = ps.Run("Get-BalanceGroup $args[0] 2", fake.Port).ThrowOnError().Single;
        Assert.Equal(0, empty.P<int>("ChannelCount"));
    }

    [Fact]
    public void Set_BalanceGroup_by_name_and_by_piped_group()
    {
        var g = ps.Run("Set-BalanceGroup -Port $args[0] -Group 0 -Type Hash -PassThru", fake.Port).ThrowOnError().Single;
        Assert.Equal("Hash", g.P<string>("Type"));
        Assert.Equal(Balance.Configuration.GroupType.Hash, fake.Client.GetGroup(0).Type);

        ps.Run("Get-BalanceGroup -Port $args[0] | Set-BalanceGroup -Type RoundRobin", fake.Port).ThrowOnError();
        Assert.All(fake.Client.GetGroups(), x => Assert.Equal(Balance.Configuration.GroupType.RoundRobin, x.Type));

        var r = ps.Run("Set-BalanceGroup -Port $args[0] -Group 9 -Type Hash", fake.Port);
        Assert.Equal(["GroupNotFound,Balance.PowerShell.SetBalanceGroupCommand"], r.ErrorIds);
    }

    [Theory]
    [InlineData("WeightedRoundRobin", "WeightedRoundRobin")]
    [InlineData("leastconn", "LeastConnections")]
    [InlineData("maglev", "Maglev")]
    [InlineData("wrr", "WeightedRoundRobin")]
    public void Set_BalanceGroup_takes_the_new_policies_by_name_or_shell_word_and_shows_them(string given, string name)
    {
        var g = ps.Run($"Set-BalanceGroup -Port $args[0] -Group 1 -Type {given} -PassThru", fake.Port).ThrowOnError().Single;
        Assert.Equal((name, name), (g.P<string>("Type"), g.P<string>("Policy")));
        Assert.Equal(name, Balance.Policies.PolicyCatalog.NameOf(fake.Client.GetGroup(1).PolicyId));
        Assert.Contains($"({name}, 1 channel(s))", g.BaseObject.ToString(), StringComparison.Ordinal);

        var r = ps.Run("Set-BalanceGroup -Port $args[0] -Group 1 -Type random", fake.Port);
        Assert.Single(r.Errors);
        Assert.Equal(name, Balance.Policies.PolicyCatalog.NameOf(fake.Client.GetGroup(1).PolicyId));
    }

    [Fact]
    public void Get_Balance_sees_the_instance_by_port_and_in_the_full_list()
    {
        var i = ps.Run("Get-Balance -Port $args[0]", fake.Port).ThrowOnError().Of("BalanceInstance")[0];
        Assert.Equal((fake.Port, "127.0.0.1", Environment.ProcessId, "Running", 2, 4), (i.P<int>("Port"), i.P<string>("BindAddress"), i.P<int>("ProcessId"), i.P<string>("State"), i.P<int>("GroupCount"), i.P<int>("ChannelCount")));
        Assert.Single(ps.Run("Get-Balance | Where-Object Port -eq $args[0]", fake.Port).ThrowOnError().Output);
        Assert.Single(ps.Run("Get-Balance -BindAddress localhost | Where-Object Port -eq $args[0]", fake.Port).ThrowOnError().Output);
        var r = ps.Run("Get-Balance -Port $args[0]", FreePort.Next());
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.GetBalanceCommand"], r.ErrorIds);
        Assert.Equal(ErrorCategory.ObjectNotFound, r.Errors[0].CategoryInfo.Category);
    }

    [Fact]
    public void Stop_Balance_from_the_pipeline_kills_through_the_segment()
    {
        var r = ps.Run("Get-Balance -Port $args[0] | Stop-Balance -Confirm:$false -PassThru", fake.Port).ThrowOnError();
        Assert.Equal(fake.Port, r.Of("BalanceInstance")[0].P<int>("Port"));
        Assert.True(fake.Killed);
        r = ps.Run("Stop-Balance -Port $args[0] -Confirm:$false", fake.Port);
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.StopBalanceCommand"], r.ErrorIds);
    }

    [Fact]
    public void Bad_bind_address_is_reported_not_thrown()
    {
        var r = ps.Run("Get-BalanceChannel -Port $args[0] -BindAddress '999.1.1.1.1'", fake.Port);
        Assert.Null(r.Terminating);
        Assert.Single(r.Errors);
    }
}
