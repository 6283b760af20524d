using System.Management.Automation;
using Balance.Control;
using Balance.Proxy;

namespace Balance.PowerShell;

/// <summary>Makes a running in-process engine a job of the session, visible to Get-Job and the other job cmdlets.</summary>
internal static class BalanceJobRegistration
{
    /// <summary>The job, started; throws <see cref="ControlException"/> when the engine's segment cannot be opened.</summary>
    public static BalanceJob Register(JobManager jobs, BalanceEngine engine, string command, string? name)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(engine);
        var job = new BalanceJob(command, name ?? "Balance@" + ControlSegment.Endpoint(engine.Name), engine);

        // ModuleName lets the job manager import the module to find the adapter if it was not registered at import.
        var definition = new JobDefinition(typeof(BalanceJobSourceAdapter), command, job.Name) { ModuleName = "Balance" };
        var parameters = new Dictionary<string, object> { [BalanceJobSourceAdapter.JobParameter] = job };
        jobs.NewJob(new JobInvocationInfo(definition, parameters));
        job.StartJob();
        return job;
    }
}
