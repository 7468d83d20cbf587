using Canary.Analyzer.Rollouts;

namespace Canary.Analyzer.Serving;

/// <summary>
/// Commands from the API, in serve and in local mode: put in the rollout's inbox (in a cluster the
/// Canary's command annotation, the same path as `kubectl annotate … canary.dev/command=approve`),
/// then the rollout's job is fired at once so the command does not wait for the next interval.
/// </summary>
internal sealed class RolloutCommands(CanaryRegistry registry, ICommandInbox inbox, RolloutSchedule schedule) : IRolloutCommands
{
    public IReadOnlyList<int>? Steps(string key) => registry.Get(key)?.Rollout.StepWeights;

    public async Task<bool> SendAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken)
    {
        var key = RolloutKey.Of(ns, name);
        if (registry.Get(key) is null)
        {
            return false;
        }

        await inbox.SendAsync(ns, name, command, cancellationToken);
        await schedule.TriggerAsync(key, cancellationToken);
        return true;
    }
}
