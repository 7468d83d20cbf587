using System.Collections.Concurrent;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Traffic;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Workloads;

/// <summary>A local target: its process file (the "Deployment") and the HAProxy backend whose two server slots front it.</summary>
internal sealed record LocalTarget(string ProcessFile, RouterTarget Routes);

/// <summary>
/// Local workloads (DESIGN: Workloads/, local processes), the controller's part: each version of a
/// target is one process (see <see cref="ProcessSupervisor"/>) put behind HAProxy's primary or canary
/// server slot (through <see cref="HaproxyRouter"/>, `set server … addr`, never a reload) once it is
/// ready. Promotion starts the analysed spec as the next primary, moves the primary slot to it when
/// it is ready, and then stops the old primary gracefully. What should run and what runs are kept in
/// the state folder (<see cref="LocalStateFiles"/>); a repair loop makes what runs match what should
/// (a process that exited is started again), while reading the status only reads. The processes
/// outlive canary, as pods outlive their controller: a later canary with the same state folder takes
/// them over by pid and start time. Prometheus finds them through file_sd (<see cref="FileSdTargets"/>),
/// with the labels namespace and pod (NAME-primary-REVISION-PORT, NAME-REVISION-PORT: the shape of
/// Kubernetes pod names, so the default cohorts of the Canary resource select them).
/// </summary>
internal sealed partial class LocalWorkloads : IWorkloadController, IAsyncDisposable
{
    /// <summary>A canary process that exits this many times is Failed (Kubernetes: CrashLoopBackOff, then the progress deadline).</summary>
    public const int MaxRestarts = 3;

    private readonly ConcurrentDictionary<string, LocalSite> sites = new(StringComparer.Ordinal);
    private readonly LocalStateFiles files;
    private readonly FileSdTargets fileSd;
    private readonly ProcessSupervisor supervisor;
    private readonly LocalReconciler reconciler;
    private readonly TimeProvider time;
    private readonly ILogger<LocalWorkloads> log;
    private readonly CancellationTokenSource stopping = new();
    private readonly IDisposable folderLock;
    private readonly Lock starting = new();
    private Task? repairing;
    private volatile bool disposed;

    public LocalWorkloads(HaproxyRouter haproxy, string stateFolder, TimeProvider time, ILogger<LocalWorkloads> log)
    {
        this.time = time;
        this.log = log;
        files = new LocalStateFiles(stateFolder);
        folderLock = files.Lock();
        fileSd = new FileSdTargets(Path.Combine(files.Folder, "targets"));
        supervisor = new ProcessSupervisor(files, time, log);
        reconciler = new LocalReconciler(haproxy, files, fileSd, supervisor, time, log);
    }

    /// <summary>Where the Prometheus file_sd files are written (one per target).</summary>
    public string TargetsFolder => fileSd.Folder;

    /// <summary>How long an old process keeps running after its slot moved away, before it is asked to stop.</summary>
    public TimeSpan Drain { get => reconciler.Drain; init => reconciler.Drain = value; }

    /// <summary>How long a process may take to stop after SIGTERM before it is killed.</summary>
    public TimeSpan StopGrace { get => supervisor.StopGrace; init => supervisor.StopGrace = value; }

    /// <summary>How often the repair loop (started by the first <see cref="Register"/>) makes what runs match what should run.</summary>
    public TimeSpan RepairPeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Disposing stops the processes too (the demo; `canary local --stop-workloads`); otherwise they keep serving.</summary>
    public bool StopOnDispose { get; init; }

    /// <summary>Says where the target's process file is and which HAProxy slots front it; call before the first tick and whenever the Canary file is read again.</summary>
    public void Register(string ns, string name, LocalTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var site = sites.GetOrAdd($"{ns}/{name}", _ => new LocalSite(ns, name, target));
        site.Target = target;
        lock (starting)
        {
            repairing ??= RepairAsync(stopping.Token);
        }
    }

    public async Task<WorkloadState> InitializeAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        var site = Get(target);
        await ChangeAsync(site, s => s.Desired = s.Desired with { Primary = s.Desired.Primary ?? ProcessSpecReader.ReadFile(s.Target.ProcessFile) }, cancellationToken);
        await WaitAsync(site, target, s => s.PrimaryServing, "the primary", cancellationToken);
        return new WorkloadState(site.Primary!.Revision, 1);
    }

    public Task<string> RevisionAsync(WorkloadTarget target, CancellationToken cancellationToken) =>
        Task.FromResult(ProcessSpecReader.ReadFile(Get(target).Target.ProcessFile).Revision);

    public async Task ScaleCanaryAsync(WorkloadTarget target, int? replicas, CancellationToken cancellationToken, bool wait = true)
    {
        if (replicas == 0)
        {
            await ScaleCanaryToZeroAsync(target, cancellationToken);
            return;
        }

        var site = Get(target);
        await ChangeAsync(site, s => s.Desired = s.Desired with { Canary = ProcessSpecReader.ReadFile(s.Target.ProcessFile) }, cancellationToken);
        if (wait)
        {
            await WaitAsync(site, target, s => s.Canary is { Serving: true }, "the canary", cancellationToken);
        }
    }

    /// <summary>What runs, as the probes last saw it: takes over recorded processes on the first look, and never starts one.</summary>
    public async Task<WorkloadStatus> StatusAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var site = Get(target);
        var revision = ProcessSpecReader.ReadFile(site.Target.ProcessFile).Revision;
        await site.Gate.WaitAsync(cancellationToken);
        try
        {
            reconciler.Load(site);
            var now = time.GetUtcNow();
            var canary = site.Desired.Canary is null || site.Canary is null ? WorkloadReadiness.Missing
                : site.CanaryFailed(now, target.ProgressDeadline) ? WorkloadReadiness.Failed
                : site.Canary.Serving && site.Canary.Revision == revision ? WorkloadReadiness.Ready
                : WorkloadReadiness.NotReady;
            var primary = site.Primary is null ? WorkloadReadiness.Missing
                : site.Pending is not null && site.PendingFailed(now, target.ProgressDeadline) ? WorkloadReadiness.Failed
                : site.PrimaryServing && site.Pending is null ? WorkloadReadiness.Ready
                : WorkloadReadiness.NotReady;
            return new WorkloadStatus(revision, canary, primary, site.Primary?.Revision);
        }
        finally
        {
            site.Gate.Release();
        }
    }

    public async Task PromoteAsync(WorkloadTarget target, string revision, CancellationToken cancellationToken, bool wait = true)
    {
        var site = Get(target);
        await ChangeAsync(site, s =>
        {
            if (s.Desired.Primary?.Revision == revision)
            {
                return;
            }

            // As with a Deployment: when the file moved on after the analysis, the release starts again instead.
            var spec = ProcessSpecReader.ReadFile(s.Target.ProcessFile);
            if (spec.Revision != revision)
            {
                throw new RevisionChangedException($"{s.Target.ProcessFile} is at revision {spec.Revision}, not the analysed {revision}: nothing was promoted");
            }

            s.Desired = s.Desired with { Primary = spec };
        }, cancellationToken);
        if (wait)
        {
            await WaitAsync(site, target, s => s.PrimaryServing && s.Primary!.Revision == revision && s.Pending is null, "the new primary", cancellationToken);
        }
    }

    /// <summary>Stops the canary. A promotion whose next primary never took over (a rollback while promoting) is abandoned: the primary stays.</summary>
    public Task ScaleCanaryToZeroAsync(WorkloadTarget target, CancellationToken cancellationToken) =>
        ChangeAsync(Get(target), s => s.Desired = s.Desired with { Canary = null, Primary = s.Pending is not null && s.Primary is not null ? s.Primary.Spec : s.Desired.Primary }, cancellationToken);

    /// <summary>
    /// Ends the repair loop and the probes and finishes the stops already under way; the processes keep
    /// serving (recorded for the next canary) unless <see cref="StopOnDispose"/>. Later calls fail.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        // Once: a host that resolves it under two services disposes it twice.
        if (disposed)
        {
            return;
        }

        disposed = true;
        await stopping.CancelAsync();
        Task? loop;
        lock (starting)
        {
            loop = repairing;
        }

        try
        {
            if (loop is not null)
            {
                await loop;
            }

            var stops = new List<Task>();
            foreach (var site in sites.Values)
            {
                // Whatever reconcile is running finishes first; none starts after this (disposed is set), and a later call fails at once.
                await site.Gate.WaitAsync();
                site.Gate.Release();
                foreach (var instance in site.Running())
                {
                    if (StopOnDispose)
                    {
                        stops.Add(supervisor.StopAsync(instance));
                    }
                    else
                    {
                        await instance.Probing.CancelAsync();
                    }
                }
            }

            await Task.WhenAll(stops);
            await supervisor.DisposeAsync();
            foreach (var site in sites.Values.Where(s => s.Loaded))
            {
                if (StopOnDispose)
                {
                    (site.Primary, site.Pending, site.Canary) = (null, null, null);
                }

                RecordLast(site);
            }
        }
        finally
        {
            folderLock.Dispose();
            stopping.Dispose();
        }
    }

    /// <summary>The record as canary stops; a state folder that cannot be written now loses nothing the next canary needs more than the processes themselves (it re-adopts what it recorded before).</summary>
    private void RecordLast(LocalSite site)
    {
        try
        {
            reconciler.Record(site);
        }
        catch (IOException e)
        {
            RepairFailed(log, site.Key, e.Message);
        }
    }

    /// <summary>
    /// Stops every process recorded in stateFolder (`canary local --stop-workloads` with no Canary file):
    /// the ones of a canary that is gone, or was killed. Returns the pods stopped.
    /// </summary>
    /// <exception cref="Documents.InputException">A canary local holds the folder.</exception>
    public static async Task<(IReadOnlyList<string> Stopped, IReadOnlyList<string> Problems)> StopRecordedAsync(string stateFolder, TimeSpan grace, TimeProvider time, ILogger log)
    {
        var files = new LocalStateFiles(stateFolder);
        using var held = files.Lock();
        await using var supervisor = new ProcessSupervisor(files, time, log) { StopGrace = grace };
        var (stopped, problems) = (new List<string>(), new List<string>());
        foreach (var path in files.AllProcessRecords())
        {
            IReadOnlyList<RecordedProcess> processes;
            try
            {
                processes = LocalStateFiles.ReadProcessRecord(path);
            }
            catch (WorkloadNotReadyException e)
            {
                // One bad record stops none of the others.
                problems.Add(e.Message);
                continue;
            }

            var running = processes.Select(p => supervisor.Adopt(path, p)).OfType<LocalInstance>().ToList();
            await Task.WhenAll(running.Select(supervisor.StopAsync));
            stopped.AddRange(running.Select(i => i.Pod));
            File.Delete(path);
        }

        return (stopped, problems);
    }

    private LocalSite Get(WorkloadTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return sites.TryGetValue($"{target.Namespace}/{target.Name}", out var site)
            ? site
            : throw new InvalidOperationException($"local target {target.Namespace}/{target.Name} is not registered");
    }

    /// <summary>The repair loop: every period, each registered target is made to match what should run (the kubelet's and ReplicaSet's part).</summary>
    private async Task RepairAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(RepairPeriod, time, cancellationToken);
                foreach (var site in sites.Values)
                {
                    try
                    {
                        await ChangeAsync(site, _ => { }, cancellationToken);
                    }
#pragma warning disable CA1031 // The repair loop must outlive any one failure (HAProxy, the state folder, a bug): it tries again in a period.
                    catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
                    {
                        RepairFailed(log, site.Key, $"{e.GetType().Name}: {e.Message}");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // canary stops.
        }
    }

    /// <summary>Applies change to what should run (and saves it), then makes what runs match.</summary>
    private async Task ChangeAsync(LocalSite site, Action<LocalSite> change, CancellationToken cancellationToken)
    {
        await site.Gate.WaitAsync(cancellationToken);
        try
        {
            if (disposed)
            {
                throw new WorkloadNotReadyException($"the local workloads of {site.Key} are stopping");
            }

            reconciler.Load(site);
            var before = site.Desired;
            change(site);
            if (LocalStateFiles.Serialize(site.Desired) != LocalStateFiles.Serialize(before))
            {
                files.WriteDesired(site.Namespace, site.Name, site.Desired);
            }

            await reconciler.ReconcileAsync(site, cancellationToken);
        }
        finally
        {
            site.Gate.Release();
        }
    }

    private async Task WaitAsync(LocalSite site, WorkloadTarget target, Func<LocalSite, bool> done, string what, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + target.ProgressDeadline;
        while (true)
        {
            await ChangeAsync(site, _ => { }, cancellationToken);
            if (done(site))
            {
                return;
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new WorkloadNotReadyException($"{what} of {site.Key} was not ready within {target.ProgressDeadline}: {site.Describe()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Target}: could not repair its processes ({Error}); trying again in a second")]
    private static partial void RepairFailed(ILogger logger, string target, string error);
}
