namespace Canary.Analyzer.Rollouts;

/// <summary>Carries a command to a rollout (in a cluster: the Canary's command annotation, then a tick at once); false when no such rollout is known.</summary>
internal interface IRolloutCommands
{
    /// <summary>The steps of a known rollout (its weights), or null when no Canary has this key.</summary>
    IReadOnlyList<int>? Steps(string key);

    Task<bool> SendAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken);
}
