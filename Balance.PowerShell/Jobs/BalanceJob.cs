using System.ComponentModel;
using System.Globalization;
using System.Management.Automation;
using Balance.Control;
using Balance.Proxy;

namespace Balance.PowerShell;

/// <summary>
/// An engine running in this PowerShell process, as a job. Its Output receives the engine's sparse
/// events (failovers, autodisables, errors) as <see cref="BalanceEngineEvent"/> snapshots, read
/// from the segment's event ring; per-connection traffic never reaches the job's streams. The job
/// completes when the engine stops through the control segment (Stop-Balance, the shell's kill),
/// fails when the engine fails, and is stopped by Stop-Job or Remove-Job -Force. It lives and dies
/// with this process; use Start-Balance -Detached or the balance executable for a daemon.
/// </summary>
public sealed class BalanceJob : Job2
{
    /// <summary>How often the event ring is read; events are sparse, so a short poll costs nothing.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long Stop-Job lets live sessions finish before closing them.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(1);

    /// <summary>The most Stop-Job ever waits for the engine; past it the job is reported stopped with an error.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(10);

    private readonly BalanceEngine engine;
    private readonly ControlClient events;
    private readonly CancellationTokenSource monitorStop = new();
    private readonly object streamGate = new();
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task monitor = Task.CompletedTask;
    private Task? stopping;
    private long cursor;
    private bool closed;

    internal BalanceJob(string command, string? name, BalanceEngine engine)
        : base(command, name)
    {
        this.engine = engine;
        PSJobTypeName = "BalanceJob";
        Port = engine.Name.Port;
        BindAddress = engine.Name.NormalizedAddress;
        Location = ControlSegment.Endpoint(engine.Name);
        events = ControlClient.Open(engine.Name);
        cursor = 0;
    }

    /// <summary>Listen port, so the job pipes into the other Balance cmdlets.</summary>
    public int Port { get; }

    /// <summary>Listen address, so the job pipes into the other Balance cmdlets.</summary>
    public string BindAddress { get; }

    /// <inheritdoc/>
    public override string Location { get; }

    /// <inheritdoc/>
    public override string StatusMessage => JobStateInfo.State switch
    {
        JobState.Running => "Listening on " + Location,
        JobState.Failed => JobStateInfo.Reason?.Message ?? "Failed",
        var s => s.ToString(),
    };

    /// <inheritdoc/>
    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Debug.Count > 0 || Information.Count > 0 || Progress.Count > 0;

    /// <inheritdoc/>
    public override void StartJob()
    {
        SetJobState(JobState.Running);
        monitor = Task.Run(MonitorAsync);
    }

    /// <inheritdoc/>
    public override void StartJobAsync()
    {
        StartJob();
        OnStartJobCompleted(new AsyncCompletedEventArgs(null, false, null));
    }

    /// <inheritdoc/>
    public override void StopJob() => StopJob(false, null);

    /// <inheritdoc/>
    public override void StopJob(bool force, string? reason) => Stop().Wait(StopBound + StopBound);

    /// <inheritdoc/>
    public override void StopJobAsync() => StopJobAsync(false, null);

    /// <inheritdoc/>
    public override void StopJobAsync(bool force, string? reason) =>
        _ = Stop().ContinueWith(
            t => OnStopJobCompleted(new AsyncCompletedEventArgs(t.Exception?.GetBaseException(), false, null)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <inheritdoc/>
    public override void SuspendJob() => throw NotSupported("suspended");

    /// <inheritdoc/>
    public override void SuspendJobAsync() => throw NotSupported("suspended");

    /// <inheritdoc/>
    public override void SuspendJob(bool force, string? reason) => throw NotSupported("suspended");

    /// <inheritdoc/>
    public override void SuspendJobAsync(bool force, string? reason) => throw NotSupported("suspended");

    /// <inheritdoc/>
    public override void ResumeJob() => throw NotSupported("resumed");

    /// <inheritdoc/>
    public override void ResumeJobAsync() => throw NotSupported("resumed");

    /// <inheritdoc/>
    public override void UnblockJob() => throw NotSupported("unblocked");

    /// <inheritdoc/>
    public override void UnblockJobAsync() => throw NotSupported("unblocked");

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Stop().Wait(StopBound + StopBound);
            monitorStop.Dispose();
            events.Dispose();
        }

        base.Dispose(disposing);
    }

    private static PSNotSupportedException NotSupported(string what) =>
        new(string.Format(CultureInfo.InvariantCulture, "a Balance job cannot be {0}; stop it with Stop-Job or Stop-Balance and start it again", what));

    /// <summary>
    /// The one stop sequence, shared by every caller (Stop-Job, Remove-Job -Force, the adapter,
    /// Dispose): always completes, in bounded time, with the job in a finished state. A failure to
    /// stop the engine in time is the task's exception, which Stop-Job reports.
    /// </summary>
    private Task Stop()
    {
        lock (streamGate)
        {
            // Run outside the lock: the stop cancels the monitor, whose continuation takes the lock too.
            stopping ??= closed ? finished.Task : Task.Run(StopCoreAsync);
            return stopping;
        }
    }

    private async Task StopCoreAsync()
    {
        Exception? failure = null;

        // The monitor must not mistake the end this stop causes for a completion of its own.
        await monitorStop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAny(monitor, Task.Delay(StopBound)).ConfigureAwait(false);
        try
        {
            var stop = engine.StopAsync(StopGrace);
            if (await Task.WhenAny(stop, Task.Delay(StopBound)).ConfigureAwait(false) != stop)
            {
                failure = new TimeoutException(string.Format(CultureInfo.InvariantCulture, "the engine on {0} did not stop within {1:0} s; it may still hold the port until this process exits", Location, StopBound.TotalSeconds));
            }
            else
            {
                await stop.ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure = e;
        }

        try
        {
            Publish();
        }
        catch (Exception e) when (e is ControlException or ObjectDisposedException)
        {
            // The last events are a courtesy; the stop itself has happened.
        }

        Finish(JobState.Stopped, null);
        if (failure is not null)
        {
            throw failure;
        }
    }

    private async Task MonitorAsync()
    {
        try
        {
            while (!engine.Completion.IsCompleted && !monitorStop.IsCancellationRequested)
            {
                Publish();
                await Task.WhenAny(engine.Completion, Task.Delay(PollInterval, monitorStop.Token)).ConfigureAwait(false);
            }

            Publish();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Finish(JobState.Failed, e);
            return;
        }

        if (monitorStop.IsCancellationRequested)
        {
            return;
        }

        // The engine ended by itself: stopped through its segment, or failed.
        var fault = engine.Completion.Exception?.GetBaseException();
        Finish(fault is null ? JobState.Completed : JobState.Failed, fault);
    }

    private void Publish()
    {
        lock (streamGate)
        {
            if (closed)
            {
                return;
            }

            foreach (var e in events.ReadEvents(ref cursor))
            {
                Output.Add(new PSObject(new BalanceEngineEvent(Port, BindAddress, e)));
            }
        }
    }

    /// <summary>Sets the final state once: streams are written before it and never after (it closes them).</summary>
    private void Finish(JobState state, Exception? reason)
    {
        lock (streamGate)
        {
            if (closed)
            {
                return;
            }

            closed = true;
            if (reason is not null)
            {
                // PowerShell Standard has no SetJobState(state, reason): the reason travels as an error record.
                Error.Add(new ErrorRecord(reason, ErrorIds.EngineFailed, ErrorCategory.InvalidResult, Location));
            }
        }

        SetJobState(state);
        finished.TrySetResult();
    }
}
