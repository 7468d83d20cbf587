using System.Collections.Concurrent;
using Canary.Analyzer.Rollouts;

namespace Canary.Analyzer.Serving;

/// <summary>The Canary resources the watcher has seen, by namespace/name: the latest valid spec, or why it is not valid.</summary>
internal sealed class CanaryRegistry
{
    private readonly ConcurrentDictionary<string, CanaryResource> resources = new(StringComparer.Ordinal);

    /// <summary>True once the first list of Canary resources was read (readiness).</summary>
    public bool Synced { get; set; }

    public IReadOnlyCollection<string> Keys => [.. resources.Keys];

    public CanaryResource? Get(string key) => resources.GetValueOrDefault(key);

    public void Set(CanaryResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        resources[resource.Key] = resource;
    }

    public bool Remove(string key) => resources.TryRemove(key, out _);
}
