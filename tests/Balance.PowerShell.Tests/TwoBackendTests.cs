namespace BalancePowerShellTests;

/// <summary>
/// A PowerShell session, two greeting back-ends ("one", "two") and a free port; whatever an
/// assertion left running on that port is stopped with the test.
/// </summary>
public abstract class TwoBackendTests : IDisposable
{
    protected readonly PowerShellSession ps = new();
    protected readonly TestBackend one = TestBackend.Start("one", BackendMode.GreetThenClose);
    protected readonly TestBackend two = TestBackend.Start("two", BackendMode.GreetThenClose);
    protected readonly int port = FreePort.Next();

    public void Dispose()
    {
        ps.Run("Stop-Balance -Port $args[0] -Confirm:$false -ErrorAction SilentlyContinue", port);
        ps.Dispose();
        one.Dispose();
        two.Dispose();
        GC.SuppressFinalize(this);
    }
}
