using Canary.Analyzer.Rollouts;
using Quartz;

namespace Canary.Analyzer.Serving;

/// <summary>
/// Commands from the API in a cluster: written to the Canary's command annotation (the same path as
/// `kubectl annotate … canary.dev/command=approve`), then the rollout's job is fired at once so the
/// command does not wait for the next interval.
/// </summary>
internal sealed class RolloutCommands(CanaryRegistry registry, CanaryObjects objects, ISchedulerFactory schedulers) : IRolloutCommands
{
    public IReadOnlyList<int>? Steps(string key) => registry.Get(key)?.Rollout.StepWeights;

    public async Task<bool> SendAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken)
    {
        var key = RolloutKey.Of(ns, name);
        if (registry.Get(key) is null)
        {
            return false;
        }

        await objects.SendCommandAsync(ns, name, command, cancellationToken);
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        if (await scheduler.Exists(new JobKey(key), cancellationToken))
        {
            await scheduler.TriggerJob(new JobKey(key), cancellationToken);
        }

        return true;
    }
}
