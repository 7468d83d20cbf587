using Canary.Analyzer.Metrics;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Rollouts;

/// <summary>One tick of a local rollout, for whoever watches (the demo's progress lines).</summary>
internal sealed record LocalTick(CanaryResource Resource, TickResult Result);

/// <summary>
/// Local mode: the rollout controller of the cluster, unchanged, driving local workloads behind
/// HAProxy. Each Canary file (targetRef kind Process, router haproxy) is read again before every
/// tick, so an edit of the Canary or of its process file takes effect at the next tick; a new
/// revision of the process file starts a release. One loop per Canary ticks at its analysis
/// interval (instead of the cluster's Quartz jobs: one process, no replicas to share the work).
/// </summary>
internal sealed partial class LocalRollouts : IAsyncDisposable, IRolloutCommands
{
    // Each Canary as last read, with its file; and per file, the signal that ends its loop's wait early.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (CanaryResource Resource, string File)> known = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PendingCommands> inbox = new(StringComparer.Ordinal);
    private readonly Lock inboxLock = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> wakeups = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<string> files;
    private readonly TemplateLibrary templates;
    private readonly RolloutController controller;
    private readonly TimeProvider time;
    private readonly ILogger<LocalRollouts> log;
    private readonly HttpClient http = new();

    public LocalRollouts(IReadOnlyList<string> canaryFiles, IAnalysisStore store, IMetricSource source, TemplateLibrary templates, string stateFolder, TimeProvider time, ILoggerFactory logs, bool stopWorkloadsOnExit = false)
    {
        ArgumentNullException.ThrowIfNull(logs);
        files = canaryFiles;
        this.templates = templates;
        this.time = time;
        log = logs.CreateLogger<LocalRollouts>();
        var haproxy = new HaproxyRouter(time);
        Workloads = new LocalWorkloads(haproxy, stateFolder, time, logs.CreateLogger<LocalWorkloads>()) { StopOnDispose = stopWorkloadsOnExit };
        controller = new RolloutController(store, Workloads, new RouterRegistry([haproxy]), new RolloutAnalyzer(source), new Webhooks(http, time), time, logs.CreateLogger<RolloutController>());
    }

    public LocalWorkloads Workloads { get; }

    /// <summary>Called after every tick (from the Canary's loop; keep it short).</summary>
    public Action<LocalTick>? Ticked { get; init; }

    /// <summary>Reads every Canary file once: the problems of all of them, named by file, line and field (empty when all are good).</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var file in files)
        {
            problems.AddRange(Read(file).Problems);
        }

        return problems;
    }

    /// <summary>Ticks every Canary at its interval until cancelled; then the local workloads are stopped by <see cref="DisposeAsync"/>.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(files.Select(f => LoopAsync(f, cancellationToken)));

    /// <summary>One tick of one Canary file: null when the file has problems (they are logged).</summary>
    public async Task<LocalTick?> TickAsync(string file, CancellationToken cancellationToken)
    {
        var (resource, problems) = Read(file);
        if (resource is null)
        {
            foreach (var problem in problems)
            {
                CanaryInvalid(log, problem);
            }

            return null;
        }

        var processFile = ProcessFile(file, resource);
        Workloads.Register(resource.Namespace, resource.Target, new LocalTarget(processFile, resource.Routes));
        known[resource.Key] = (resource, file);
        PendingCommands commands;
        lock (inboxLock)
        {
            commands = inbox.GetValueOrDefault(resource.Key) ?? PendingCommands.None;
        }

        var result = await controller.TickAsync(resource, commands, cancellationToken);
        if (result.CommandsSettled)
        {
            // Cleared only once the tick that applied them is stored; what arrived meanwhile waits under the same id.
            lock (inboxLock)
            {
                if (inbox.GetValueOrDefault(resource.Key) == commands)
                {
                    inbox.Remove(resource.Key);
                }
            }
        }

        var tick = new LocalTick(resource, result);
        Ticked?.Invoke(tick);
        return tick;
    }

    /// <summary>The steps of a Canary read at least once (the API shows them).</summary>
    public IReadOnlyList<int>? Steps(string key) => known.TryGetValue(key, out var canary) ? canary.Resource.Rollout.StepWeights : null;

    /// <summary>A command from the API: carried out by the Canary's next tick, which runs at once.</summary>
    public Task<bool> SendAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken)
    {
        var key = RolloutKey.Of(ns, name);
        if (!known.TryGetValue(key, out var canary))
        {
            return Task.FromResult(false);
        }

        lock (inboxLock)
        {
            var word = command.ToString().ToLowerInvariant();
            inbox[key] = inbox.GetValueOrDefault(key) is { } waiting ? waiting with { Text = $"{waiting.Text},{word}" } : new PendingCommands(Guid.NewGuid().ToString("N"), word);
        }

        Wakeup(canary.File).TrySetResult();
        return Task.FromResult(true);
    }

    public async ValueTask DisposeAsync()
    {
        await Workloads.DisposeAsync();
        http.Dispose();
    }

    /// <summary>The signal that ends a loop's wait early (a command arrived), one per Canary file, renewed after it fires.</summary>
    private TaskCompletionSource Wakeup(string file) => wakeups.GetOrAdd(file, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task LoopAsync(string file, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var interval = TimeSpan.FromSeconds(10);
            try
            {
                var tick = await TickAsync(file, cancellationToken);
                interval = tick?.Resource.Interval ?? interval;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // One failed tick (the store, a bug) must not end the rollout's loop: the next tick repairs it.
            catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
            {
                TickFailed(log, file, e.GetType().Name, e.Message);
            }

            // Wait for the interval, or less when a command arrives.
            var wakeup = Wakeup(file);
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(interval, time, waiting.Token);
            await Task.WhenAny(delay, wakeup.Task);
            await waiting.CancelAsync();
            if (wakeup.Task.IsCompleted)
            {
                wakeups[file] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private (CanaryResource? Resource, IReadOnlyList<string> Problems) Read(string file)
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

    [LoggerMessage(Level = LogLevel.Error, Message = "{File}: the tick failed ({Type}: {Error}); trying again at the next interval")]
    private static partial void TickFailed(ILogger logger, string file, string type, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Problem}")]
    private static partial void CanaryInvalid(ILogger logger, string problem);
}
