using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Serving;

/// <summary>
/// Watches the Deployments that Canaries target: when a target's spec changes (a new generation,
/// e.g. a new image), its rollout ticks at once instead of at its next interval. Lists, watches from
/// the list's resourceVersion, and lists again when the stream ends or fails.
/// </summary>
internal sealed partial class TargetWatcher(IKubernetes client, CanaryRegistry registry, RolloutSchedule schedule, TimeProvider time, ILogger<TargetWatcher> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ListAndWatch.RunAsync(
            async stoppingToken =>
            {
                var list = await client.AppsV1.ListDeploymentForAllNamespacesAsync(cancellationToken: stoppingToken);
                var generations = list.Items.ToDictionary(d => $"{d.Metadata.NamespaceProperty}/{d.Metadata.Name}", d => d.Metadata.Generation, StringComparer.Ordinal);
                await foreach (var (type, deployment) in client.AppsV1.WatchListDeploymentForAllNamespacesAsync(
                    allowWatchBookmarks: true, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: stoppingToken))
                {
                    if (type == WatchEventType.Error)
                    {
                        break;
                    }

                    if (type is not (WatchEventType.Added or WatchEventType.Modified) || deployment?.Metadata is null)
                    {
                        continue;
                    }

                    var key = $"{deployment.Metadata.NamespaceProperty}/{deployment.Metadata.Name}";
                    var changed = generations.TryGetValue(key, out var seen) && seen != deployment.Metadata.Generation;
                    generations[key] = deployment.Metadata.Generation;
                    if (!changed)
                    {
                        continue;
                    }

                    foreach (var rollout in registry.Keys.Where(k => registry.Get(k) is { } r && r.Namespace == deployment.Metadata.NamespaceProperty && r.Target == deployment.Metadata.Name))
                    {
                        TargetChanged(log, rollout, key);
                        await schedule.TriggerAsync(rollout, stoppingToken);
                    }
                }
            },
            error => WatchFailed(log, error),
            time,
            stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Rollout}: its target {Target} changed; ticking now")]
    private static partial void TargetChanged(ILogger logger, string rollout, string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "watching target Deployments failed: {Error}; listing again")]
    private static partial void WatchFailed(ILogger logger, string error);
}
