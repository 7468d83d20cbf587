using System.Text.Json.Nodes;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Serving;

/// <summary>
/// Keeps one Quartz job per Canary resource: lists the Canaries, then watches from the list's
/// resourceVersion; a 410 (too old) or the end of the stream lists again. A Canary that is not
/// valid gets its problems in its status and an event, and no job.
/// </summary>
internal sealed partial class CanaryWatcher(
    IKubernetes client, CanaryRegistry registry, CanaryObjects objects, RolloutSchedule schedule, IAnalysisStore store, TemplateLibrary templates, TimeProvider time, ILogger<CanaryWatcher> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ListAndWatch.RunAsync(
            async stoppingToken =>
            {
                var list = await client.CustomObjects.ListClusterCustomObjectAsync<JsonObject>(CanaryObjects.Group, CanaryObjects.Version, CanaryObjects.Plural, cancellationToken: stoppingToken);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var item in (list["items"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    seen.Add(await ApplyAsync(item, stoppingToken));
                }

                foreach (var gone in registry.Keys.Where(k => !seen.Contains(k)))
                {
                    await RemoveAsync(gone, stoppingToken);
                }

                registry.Synced = true;
                var version = list["metadata"]?["resourceVersion"]?.GetValue<string>();
                var events = client.CustomObjects.WatchListClusterCustomObjectAsync(
                    CanaryObjects.Group, CanaryObjects.Version, CanaryObjects.Plural, allowWatchBookmarks: true, resourceVersion: version, cancellationToken: stoppingToken);
                await foreach (var (type, received) in events)
                {
                    if (System.Text.Json.JsonSerializer.SerializeToNode(received) is not JsonObject item)
                    {
                        continue;
                    }

                    if (type == WatchEventType.Error)
                    {
                        // 410 Expired and friends: list again.
                        break;
                    }

                    if (type is WatchEventType.Added or WatchEventType.Modified)
                    {
                        await ApplyAsync(item, stoppingToken);
                    }
                    else if (type == WatchEventType.Deleted)
                    {
                        await RemoveAsync(Key(item), stoppingToken);
                    }
                }
            },
            error => WatchFailed(log, error),
            time,
            stoppingToken);
    }

    private async Task<string> ApplyAsync(JsonObject item, CancellationToken cancellationToken)
    {
        var key = Key(item);
        var (resource, problems) = CanaryResourceReader.Read($"{key}.json", item.ToJsonString(), templates);
        if (resource is null)
        {
            Invalid(log, key, string.Join("; ", problems));
            registry.Remove(key);
            await schedule.PauseAsync(key, cancellationToken);
            var (ns, name) = Split(key);
            await objects.ReportInvalidAsync(ns, name, problems, cancellationToken);
            return key;
        }

        var previous = registry.Get(key);
        registry.Set(resource);
        await schedule.ScheduleAsync(resource, previous, cancellationToken);
        return key;
    }

    private async Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        registry.Remove(key);
        await schedule.RemoveAsync(key, cancellationToken);
        await store.DeleteRolloutAsync(key, cancellationToken);
        Removed(log, key);
    }

    private static string Key(JsonObject item) => $"{item["metadata"]?["namespace"]?.GetValue<string>() ?? "default"}/{item["metadata"]?["name"]?.GetValue<string>()}";

    private static (string Namespace, string Name) Split(string key) => (key[..key.IndexOf('/', StringComparison.Ordinal)], key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]);

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Rollout}: the Canary was deleted; its job is removed, its history kept")]
    private static partial void Removed(ILogger logger, string rollout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Rollout}: the Canary is not valid: {Problems}")]
    private static partial void Invalid(ILogger logger, string rollout, string problems);

    [LoggerMessage(Level = LogLevel.Warning, Message = "watching Canary resources failed: {Error}; listing again")]
    private static partial void WatchFailed(ILogger logger, string error);
}
