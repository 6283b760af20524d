namespace BalancePowerShellTests;

public sealed class ModuleSmokeTests
{
    [Fact]
    public void Get_BalanceChannel_reads_a_live_segment()
    {
        using var fake = new FakeInstance();
        using var ps = new PowerShellSession();
        var r = ps.Run("Get-BalanceChannel -Port $args[0]", fake.Port).ThrowOnError();
        Assert.Equal(4, r.Output.Count);
    }
}
