using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Balance.Tests.Infrastructure;

namespace Balance.Tests;

/// <summary>Sets up the test host once, before any test runs (see <see cref="TestHostThreads"/>).</summary>
internal static class TestHostSetup
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "A test assembly: it sets up its own host once, before any test.")]
    internal static void Initialize() => TestHostThreads.Widen();
}
