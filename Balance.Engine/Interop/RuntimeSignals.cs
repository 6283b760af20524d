using System.Runtime.InteropServices;

namespace Balance.Interop;

/// <summary>
/// The runtime's own signal dispatch (System.Native, linked into the native build): its signal
/// handler writes the signal number into a pipe opened at start, and its signal thread, started
/// with the first registration, reads it and calls one managed callback. The runtime's callback
/// starts a new thread for SIGINT and SIGTERM, which CoreCLR cannot do while the process has no
/// free descriptor. This is a runtime entry point rather than a public API, so a runtime without
/// it keeps its own callback.
/// </summary>
internal static unsafe partial class RuntimeSignals
{
    private const string Library = "libSystem.Native";

    /// <summary>
    /// Makes <paramref name="callback"/> (signal number, <see cref="PosixSignal"/>; nonzero = handled)
    /// the runtime's callback for every signal that has a <see cref="PosixSignalRegistration"/>, in
    /// place of the runtime's; call it after the first registration, which installs the runtime's.
    /// False when this runtime has no such entry point.
    /// </summary>
    public static bool TrySetCallback(delegate* unmanaged<int, PosixSignal, int> callback)
    {
        try
        {
            Raw.SetPosixSignalHandler(callback);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    private static partial class Raw
    {
        [LibraryImport(Library, EntryPoint = "SystemNative_SetPosixSignalHandler")]
        internal static partial void SetPosixSignalHandler(delegate* unmanaged<int, PosixSignal, int> callback);
    }
}
