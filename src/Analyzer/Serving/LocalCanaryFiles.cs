using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Workloads;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Serving;

/// <summary>What `canary local` runs: its Canary files, its state folder, and who watches the ticks.</summary>
internal sealed record LocalRolloutOptions(IReadOnlyList<string> CanaryFiles, string StateFolder)
{
    /// <summary>Stop the processes too when canary stops (the demo; --stop-workloads).</summary>
    public bool StopWorkloads { get; init; }

    /// <summary>Called after every tick (from the rollout's job; keep it short).</summary>
    public Action<LocalTick>? Ticked { get; init; }
}

/// <summary>
/// Local mode's source of Canaries (the cluster's is the watcher): at start each Canary file is read,
/// its target registered with the local workloads, and its rollout scheduled; before every tick the
/// file is read again, so an edit of the Canary or of its process file takes effect at the next tick,
/// and a new revision of the process file starts a release.
/// </summary>
internal sealed partial class LocalCanaryFiles(LocalRolloutOptions options, CanaryRegistry registry, RolloutSchedule schedule, LocalWorkloads workloads, TemplateLibrary templates, ILogger<LocalCanaryFiles> log)
    : IRolloutSource, IHostedService
{
    // Which file each rollout comes from; a Canary renamed in its file moves to its new key.
    private readonly Dictionary<string, string> files = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    /// <summary>Reads every Canary file once: the problems of all of them, named by file, line and field (empty when all are good).</summary>
    public static IReadOnlyList<string> Validate(IEnumerable<string> canaryFiles, TemplateLibrary templates) =>
        [.. canaryFiles.SelectMany(file => Read(file, templates).Problems)];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var file in options.CanaryFiles)
        {
            var (resource, problems) = Read(file, templates);
            if (resource is null)
            {
                LogProblems(problems);
                continue;
            }

            await UseAsync(resource, file, cancellationToken);
        }

        registry.Synced = true;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<CanaryResource?> CurrentAsync(string key, CancellationToken cancellationToken)
    {
        string? file;
        lock (gate)
        {
            file = files.GetValueOrDefault(key);
        }

        if (file is null)
        {
            return null;
        }

        var (resource, problems) = Read(file, templates);
        if (resource is null)
        {
            LogProblems(problems);
            return null;
        }

        if (resource.Key != key)
        {
            // Renamed in its file: the old rollout's job goes, the new one is scheduled and ticks at once.
            lock (gate)
            {
                files.Remove(key);
            }

            registry.Remove(key);
            await schedule.RemoveAsync(key, cancellationToken);
            await UseAsync(resource, file, cancellationToken);
            return null;
        }

        await UseAsync(resource, file, cancellationToken);
        return resource;
    }

    private async Task UseAsync(CanaryResource resource, string file, CancellationToken cancellationToken)
    {
        workloads.Register(resource.Namespace, resource.Target, new LocalTarget(ProcessFile(file, resource), resource.Routes));
        lock (gate)
        {
            files[resource.Key] = file;
        }

        var previous = registry.Get(resource.Key);
        registry.Set(resource);
        await schedule.ScheduleAsync(resource, previous, cancellationToken);
    }

    private static (CanaryResource? Resource, IReadOnlyList<string> Problems) Read(string file, TemplateLibrary templates)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, [$"{file}: cannot be read: {e.Message}"]);
        }

        var (resource, problems) = CanaryResourceReader.Read(file, text, templates);
        if (resource is not null && resource.ProcessFile is null)
        {
            return (null, [$"{file}: spec.targetRef: local mode runs targets of kind Process (with a path to their process file), not Deployments"]);
        }

        return (resource, problems);
    }

    private static string ProcessFile(string canaryFile, CanaryResource resource) =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(canaryFile))!, resource.ProcessFile!));

    private void LogProblems(IReadOnlyList<string> problems)
    {
        foreach (var problem in problems)
        {
            CanaryInvalid(log, problem);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Problem}; the rollout waits until its file is valid")]
    private static partial void CanaryInvalid(ILogger logger, string problem);
}
