namespace Balance.Tests.Infrastructure;

/// <summary>
/// The test host's thread pool starts with as many workers as cores (2 here), and some tests
/// block one while a child process runs (a synchronous read of its output, a wait for its exit).
/// With both blocked, every other test's continuations waited for the pool to add workers, at
/// about two a second: a CI run saw a test's 300 ms delays stretch past a 3 s idle timeout. The
/// engine on the epoll loop needs no pool worker; the tests' own clients do. A test assembly
/// calls <see cref="Widen"/> from its own module initializer, so it runs before any test.
/// </summary>
public static class TestHostThreads
{
    /// <summary>Raises the pool's minimum worker and I/O thread counts to at least 32.</summary>
    public static void Widen()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }
}
