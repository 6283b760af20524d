using System.Collections.Concurrent;
using System.Management.Automation;

namespace Balance.PowerShell;

/// <summary>
/// Makes Balance jobs visible to the job cmdlets of the session (Get-Job, Receive-Job
/// -AutoRemoveJob, Remove-Job...). Import-Module registers it because it is a public
/// JobSourceAdapter with a parameterless constructor; Start-Balance hands its job over through
/// JobManager.NewJob with the job in the parameters.
/// </summary>
public sealed class BalanceJobSourceAdapter : JobSourceAdapter
{
    internal const string JobParameter = "BalanceJob";

    private readonly ConcurrentDictionary<Guid, BalanceJob> jobs = new();

    /// <summary>Made by PowerShell when the module is imported; it then holds the session's Balance jobs.</summary>
    public BalanceJobSourceAdapter()
    {
        Name = nameof(BalanceJobSourceAdapter);
    }

    /// <inheritdoc/>
    public override Job2 NewJob(JobInvocationInfo specification)
    {
        ArgumentNullException.ThrowIfNull(specification);
        var job = specification.Parameters.SelectMany(p => p).FirstOrDefault(p => p.Name == JobParameter)?.Value as BalanceJob
            ?? throw new PSArgumentException("Balance jobs are created by Start-Balance only");
        jobs.TryAdd(job.InstanceId, job);
        return job;
    }

    /// <inheritdoc/>
    public override IList<Job2> GetJobs() => [.. jobs.Values];

    /// <inheritdoc/>
    public override IList<Job2> GetJobsByName(string name, bool recurse)
    {
        var pattern = new WildcardPattern(name ?? string.Empty, WildcardOptions.IgnoreCase);
        return [.. jobs.Values.Where(j => pattern.IsMatch(j.Name))];
    }

    /// <inheritdoc/>
    public override IList<Job2> GetJobsByCommand(string command, bool recurse)
    {
        var pattern = new WildcardPattern(command ?? string.Empty, WildcardOptions.IgnoreCase);
        return [.. jobs.Values.Where(j => pattern.IsMatch(j.Command))];
    }

    /// <inheritdoc/>
    public override Job2? GetJobByInstanceId(Guid instanceId, bool recurse) =>
        jobs.TryGetValue(instanceId, out var job) ? job : null;

    /// <inheritdoc/>
    public override Job2? GetJobBySessionId(int id, bool recurse) => jobs.Values.FirstOrDefault(j => j.Id == id);

    /// <inheritdoc/>
    public override IList<Job2> GetJobsByState(JobState state, bool recurse) => [.. jobs.Values.Where(j => j.JobStateInfo.State == state)];

    /// <inheritdoc/>
    public override IList<Job2> GetJobsByFilter(Dictionary<string, object> filter, bool recurse) =>
        throw new PSNotSupportedException("Balance jobs cannot be filtered with -Filter; use -Name, -Id, -State or -InstanceId");

    /// <inheritdoc/>
    public override void RemoveJob(Job2 job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (jobs.TryRemove(job.InstanceId, out var removed))
        {
            removed.StopJob();
        }
    }
}
