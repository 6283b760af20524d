namespace Balance.Transport.Sockets;

/// <summary>
/// Process-wide settings of the .NET socket layer that the engine's relay depends on for speed.
/// They must be in place before the first asynchronous socket operation, because the runtime reads
/// them once when its socket engine starts, so the program applies them first thing in Main.
/// </summary>
internal static class SocketRuntimeTuning
{
    /// <summary>
    /// The runtime's switch (an environment variable, not an AppContext switch: SocketAsyncEngine.Unix
    /// reads it with Environment.GetEnvironmentVariable) that runs socket continuations on the epoll
    /// thread instead of posting each one to the thread pool.
    /// </summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Turns on inline completions unless the user chose otherwise. A relay step is a few
    /// non-blocking syscalls, so running it where the readiness event arrives saves a thread switch
    /// and a pool dispatch per read, which on the one core the proxy gets is most of its overhead.
    /// Nothing on the relay, accept or connect path blocks, which is what makes this safe.
    /// </summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }
}
