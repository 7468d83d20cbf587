using Canary.Analyzer.Rollouts;

namespace Canary.Analyzer.Serving;

/// <summary>Where a rollout's Canary comes from before each tick: the watched resource in a cluster, the file read again in local mode.</summary>
internal interface IRolloutSource
{
    /// <summary>The Canary as it is now, or null when it is gone or not valid (the tick is skipped).</summary>
    Task<CanaryResource?> CurrentAsync(string key, CancellationToken cancellationToken);
}

/// <summary>
/// The commands waiting for a rollout, under the id that keeps them from being carried out twice
/// (DESIGN: commands are cleared only once the tick that applied them is stored): the Canary's
/// annotation in a cluster, memory in local mode.
/// </summary>
internal interface ICommandInbox
{
    Task<PendingCommands> TakeAsync(string ns, string name, CancellationToken cancellationToken);

    /// <summary>Removes the commands carried out, keeping whatever arrived meanwhile.</summary>
    Task ClearAsync(string ns, string name, PendingCommands carriedOut, CancellationToken cancellationToken);

    Task SendAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken);
}

/// <summary>Tells the world about a tick: the Canary's status and events in a cluster; the log and whoever watches in local mode.</summary>
internal interface IRolloutReporter
{
    Task ReportAsync(CanaryResource resource, TickResult tick, CancellationToken cancellationToken);
}

/// <summary>One tick of a rollout, for whoever watches (the demo's progress lines).</summary>
internal sealed record LocalTick(CanaryResource Resource, TickResult Result);

/// <summary>The cluster's source: the Canary as the watcher last saw it.</summary>
internal sealed class RegistrySource(CanaryRegistry registry) : IRolloutSource
{
    public Task<CanaryResource?> CurrentAsync(string key, CancellationToken cancellationToken) => Task.FromResult(registry.Get(key));
}

/// <summary>Local mode's inbox: in memory (one process, no replicas), with the same id protocol as the annotation.</summary>
internal sealed class MemoryInbox : ICommandInbox
{
    private readonly Dictionary<string, PendingCommands> waiting = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    public Task<PendingCommands> TakeAsync(string ns, string name, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            return Task.FromResult(waiting.GetValueOrDefault(RolloutKey.Of(ns, name)) ?? PendingCommands.None);
        }
    }

    public Task ClearAsync(string ns, string name, PendingCommands carriedOut, CancellationToken cancellationToken)
    {
        var key = RolloutKey.Of(ns, name);
        lock (gate)
        {
            // What arrived after the take joined the same id: it is kept, and the next tick carries it out.
            if (waiting.GetValueOrDefault(key) == carriedOut)
            {
                waiting.Remove(key);
            }
        }

        return Task.CompletedTask;
    }

    public Task SendAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken)
    {
        var key = RolloutKey.Of(ns, name);
        var word = command.ToString().ToLowerInvariant();
        lock (gate)
        {
            waiting[key] = waiting.GetValueOrDefault(key) is { } pending ? pending with { Text = $"{pending.Text},{word}" } : new PendingCommands(Guid.NewGuid().ToString("N"), word);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Local mode's reporter: hands each tick to whoever watches (the demo).</summary>
internal sealed class LocalReporter(Action<LocalTick>? ticked) : IRolloutReporter
{
    public Task ReportAsync(CanaryResource resource, TickResult tick, CancellationToken cancellationToken)
    {
        ticked?.Invoke(new LocalTick(resource, tick));
        return Task.CompletedTask;
    }
}
