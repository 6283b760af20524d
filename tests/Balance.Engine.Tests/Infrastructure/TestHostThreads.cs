using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Balance.Tests.Infrastructure;

/// <summary>
/// The test host's thread pool starts with as many workers as cores (2 here), and some tests
/// block one while a child process runs (a synchronous read of its output, a wait for its exit).
/// With both blocked, every other test's continuations waited for the pool to add workers, at
/// about two a second: a CI run saw a test's 300 ms delays stretch past a 3 s idle timeout. The
/// engine on the epoll loop needs no pool worker; the tests' own clients do.
/// </summary>
internal static class TestHostThreads
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "A test assembly: it sets up its own host once, before any test.")]
    internal static void Widen()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }
}
