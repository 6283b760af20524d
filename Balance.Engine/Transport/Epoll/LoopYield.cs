using System.Runtime.CompilerServices;

namespace Balance.Transport.Epoll;

/// <summary>
/// <c>await loop.Yield()</c>: a bulk direction lets the loop's other work run and goes on in the
/// loop's next round, on the loop's thread (<see cref="EpollLoop.Post"/>). <c>Task.Yield</c> there
/// went to the thread pool: a worker woken per yield, a second thread on the proxy's core, and a
/// direction that only a free worker could resume during a stop. Allocates nothing: the
/// continuation is the async method's cached delegate.
/// </summary>
internal readonly struct LoopYield(EpollLoop loop)
{
    public Awaiter GetAwaiter() => new(loop);

    internal readonly struct Awaiter(EpollLoop loop) : ICriticalNotifyCompletion
    {
        public bool IsCompleted => false;

        public void GetResult()
        {
        }

        /// <summary>For callers other than the async builders, which flow the context themselves.</summary>
        public void OnCompleted(Action continuation)
        {
            if (ExecutionContext.Capture() is not { } context)
            {
                UnsafeOnCompleted(continuation);
                return;
            }

            loop.Post(
                static s =>
                {
                    var (flowed, then) = ((ExecutionContext, Action))s!;
                    ExecutionContext.Run(flowed, static a => ((Action)a!)(), then);
                },
                (context, continuation));
        }

        public void UnsafeOnCompleted(Action continuation) => loop.Post(static c => ((Action)c!)(), continuation);
    }
}
