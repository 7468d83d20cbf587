using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Canary.Analyzer.Traffic;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Workloads;

/// <summary>A local target: its process file (the "Deployment") and the HAProxy backend whose two server slots front it.</summary>
public sealed record LocalTarget(string ProcessFile, RouterTarget Routes);

/// <summary>
/// Local workloads (DESIGN: Workloads/, local processes): each version of a target is one process
/// started from its process file on a free loopback port, health-checked by its readiness probe and
/// put behind HAProxy's primary or canary server slot (`set server … addr`, never a reload) once it
/// is ready. Promotion starts the analysed spec as the new primary, moves the primary slot to it when
/// it is ready, and then stops the old primary gracefully. What should run (the primary's spec and,
/// during a release, the canary's) is kept in the state folder, so every call repairs what is missing:
/// a process that exited is started again, and after a restart of canary the processes come back.
/// Prometheus finds the processes through file_sd: targets/NAMESPACE.NAME.json in the state folder,
/// with the labels namespace and pod (NAME-primary-REVISION-PORT, NAME-REVISION-PORT: the shape of
/// Kubernetes pod names, so the default cohorts of the Canary resource select them).
/// </summary>
public sealed partial class LocalWorkloads : IWorkloadController, IAsyncDisposable
{
    /// <summary>A canary process that exits this many times is Failed (Kubernetes: CrashLoopBackOff, then the progress deadline).</summary>
    public const int MaxRestarts = 3;

    private static readonly JsonSerializerOptions StateJson = new() { WriteIndented = true };
    private readonly ConcurrentDictionary<string, Site> sites = new(StringComparer.Ordinal);
    private readonly List<Task> retiring = [];
    private readonly HaproxyRouter haproxy;
    private readonly string stateFolder;
    private readonly TimeProvider time;
    private readonly ILogger<LocalWorkloads> log;
    private volatile bool disposed;
    private readonly HttpClient probes = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) });

    public LocalWorkloads(HaproxyRouter haproxy, string stateFolder, TimeProvider time, ILogger<LocalWorkloads> log)
    {
        this.haproxy = haproxy;
        this.stateFolder = Path.GetFullPath(stateFolder);
        this.time = time;
        this.log = log;
        Directory.CreateDirectory(TargetsFolder);
    }

    /// <summary>Where the Prometheus file_sd files are written (one per target).</summary>
    public string TargetsFolder => Path.Combine(stateFolder, "targets");

    /// <summary>How long an old process keeps running after its slot moved away, before it is asked to stop.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a process may take to stop after SIGTERM before it is killed.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Says where the target's process file is and which HAProxy slots front it; call before the first tick and whenever the Canary file is read again.</summary>
    public void Register(string ns, string name, LocalTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var site = sites.GetOrAdd($"{ns}/{name}", _ => new Site(ns, name, target));
        site.Target = target;
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

    public async Task<WorkloadStatus> StatusAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var site = Get(target);
        var revision = ProcessSpecReader.ReadFile(site.Target.ProcessFile).Revision;
        await ChangeAsync(site, _ => { }, cancellationToken);
        await site.Gate.WaitAsync(cancellationToken);
        try
        {
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

    /// <summary>Stops every process (gracefully, all at once) and waits for the ones already retiring; later calls fail.</summary>
    public async ValueTask DisposeAsync()
    {
        disposed = true;
        var stops = new List<Task>();
        foreach (var site in sites.Values)
        {
            // Whatever reconcile is running finishes first; none starts after this.
            await site.Gate.WaitAsync();
            foreach (var instance in new[] { site.Canary, site.Pending, site.Primary })
            {
                if (instance is not null)
                {
                    stops.Add(instance.StopAsync(StopGrace, time));
                }
            }
        }

        Task[] pending;
        lock (retiring)
        {
            pending = [.. retiring];
        }

        try
        {
            await Task.WhenAll(stops.Concat(pending));
        }
        finally
        {
            probes.Dispose();
        }
    }

    private Site Get(WorkloadTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return sites.TryGetValue($"{target.Namespace}/{target.Name}", out var site)
            ? site
            : throw new InvalidOperationException($"local target {target.Namespace}/{target.Name} is not registered");
    }

    /// <summary>Applies change to what should run (and saves it), then makes what runs match.</summary>
    private async Task ChangeAsync(Site site, Action<Site> change, CancellationToken cancellationToken)
    {
        await site.Gate.WaitAsync(cancellationToken);
        try
        {
            if (disposed)
            {
                throw new WorkloadNotReadyException($"the local workloads of {site.Key} are stopping");
            }

            LoadDesired(site);
            var before = JsonSerializer.Serialize(site.Desired, StateJson);
            change(site);
            if (JsonSerializer.Serialize(site.Desired, StateJson) != before)
            {
                SaveDesired(site);
            }

            await ReconcileAsync(site, cancellationToken);
        }
        finally
        {
            site.Gate.Release();
        }
    }

    /// <summary>Level-triggered: starts what is missing, restarts what exited, points slots at ready processes, retires what should not run.</summary>
    private async Task ReconcileAsync(Site site, CancellationToken cancellationToken)
    {
        if (site.Desired.Primary is { } primarySpec)
        {
            var primary = site.Primary;
            site.Primary = null;
            site.Primary = Keep(site, primary, primary?.Spec ?? primarySpec, primary: true, ref site.PrimaryRestarts);
            if (site.Primary.Revision == primarySpec.Revision)
            {
                RetirePending(site);
            }
            else
            {
                if (site.Pending is not null && site.Pending.Revision != primarySpec.Revision)
                {
                    RetirePending(site);
                }

                var pending = site.Pending;
                site.Pending = null;
                site.Pending = Keep(site, pending, primarySpec, primary: true, ref site.PendingRestarts);
            }
        }

        if (site.Desired.Canary is { } canarySpec)
        {
            if (site.Canary is not null && site.Canary.Revision != canarySpec.Revision)
            {
                RetireCanary(site);
            }

            var canary = site.Canary;
            site.Canary = null;
            site.Canary = Keep(site, canary, canarySpec, primary: false, ref site.CanaryRestarts);
        }
        else
        {
            // The canary's weight is 0 before it is scaled down (the state machine orders it so): nothing reaches it.
            RetireCanary(site);
        }

        await PointSlotsAsync(site, cancellationToken);
        WriteTargets(site);
    }

    /// <summary>
    /// Points HAProxy's servers at the ready processes, checking where they point now (so a restarted
    /// HAProxy is repaired too). A ready next primary takes the primary server, and the old primary
    /// is stopped after the drain period.
    /// </summary>
    private async Task PointSlotsAsync(Site site, CancellationToken cancellationToken)
    {
        var routes = site.Target.Routes;
        if (new[] { site.Primary, site.Pending, site.Canary }.All(i => i is not { Ready: true }))
        {
            return;
        }

        var actual = await haproxy.ServerAddressesAsync(routes, cancellationToken);
        async Task PointAsync(string server, Instance instance)
        {
            if (!actual.TryGetValue(server, out var now) || now != ("127.0.0.1", instance.Port))
            {
                await haproxy.SetServerAddressAsync(routes, server, "127.0.0.1", instance.Port, cancellationToken);
                SlotMoved(log, site.Key, server, instance.Pod);
            }

            instance.Pointed = true;
        }

        if (site.Pending is { Ready: true } next)
        {
            await PointAsync(routes.PrimaryServer, next);
            Retire(site.Primary!, Drain);
            (site.Primary, site.Pending, site.PrimaryRestarts, site.PendingRestarts) = (next, null, site.PendingRestarts, 0);
        }
        else if (site.Primary is { Ready: true } primary)
        {
            await PointAsync(routes.PrimaryServer, primary);
        }

        if (site.Canary is { Ready: true } canary)
        {
            await PointAsync(routes.CanaryServer, canary);
        }
    }

    /// <summary>
    /// The running process of spec in a role: current while it runs; once it has exited, the same
    /// (not ready) until its back-off has passed (1 s, doubling up to 30 s), then a new one.
    /// </summary>
    private Instance Keep(Site site, Instance? current, ProcessSpec spec, bool primary, ref int restarts)
    {
        if (current is not null && !current.Process.HasExited)
        {
            return current;
        }

        var now = time.GetUtcNow();
        if (current is not null)
        {
            current.ExitSeen ??= now;
            if (now - current.ExitSeen < TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, restarts))))
            {
                return current;
            }

            restarts++;
            ProcessExited(log, site.Key, current.Pod, current.Process.ExitCode, current.Process.Tail(5));
            Retire(current, TimeSpan.Zero);
        }

        var port = FreePort();
        var pod = primary ? $"{site.Name}-primary-{spec.Revision}-{port}" : $"{site.Name}-{spec.Revision}-{port}";
        var environment = spec.Environment.ToDictionary(e => e.Key, e => ProcessSpec.Fill(e.Value, port), StringComparer.Ordinal);
        environment["PORT"] = port.ToString(CultureInfo.InvariantCulture);
        ChildProcess process;
        try
        {
            process = ChildProcess.Start(pod, spec.Command[0], spec.Arguments(port).Skip(1), spec.WorkingDirectory, environment, Path.Combine(stateFolder, "logs", $"{pod}.log"));
        }
        catch (InvalidOperationException e)
        {
            throw new WorkloadNotReadyException(e.Message, e);
        }

        ProcessStarted(log, site.Key, pod, process.Id, port);
        // The progress deadline counts from the first start of a spec that was never ready; a restart of one that was ready starts it afresh.
        var instance = new Instance(spec, port, pod, process, current is { EverReady: false } ? current.DeadlineFrom : now);
        instance.Probing = ProbeAsync(instance);
        return instance;
    }

    private void RetirePending(Site site)
    {
        if (site.Pending is { } pending)
        {
            Retire(pending, TimeSpan.Zero);
            site.Pending = null;
        }

        site.PendingRestarts = 0;
    }

    private void RetireCanary(Site site)
    {
        if (site.Canary is { } canary)
        {
            Retire(canary, TimeSpan.Zero);
            site.Canary = null;
        }

        site.CanaryRestarts = 0;
    }

    /// <summary>The readiness probe: ready after one answer below 400, not ready after FailureThreshold failures in a row.</summary>
    private async Task ProbeAsync(Instance instance)
    {
        var probe = instance.Spec.Probe;
        var url = new Uri($"http://127.0.0.1:{instance.Port.ToString(CultureInfo.InvariantCulture)}{probe.Path}");
        var failures = 0;
        try
        {
            await Task.Delay(probe.InitialDelay, time, instance.Stopping.Token);
            while (!instance.Stopping.IsCancellationRequested && !instance.Process.HasExited)
            {
                bool ok;
                using (var timeout = new CancellationTokenSource(probe.Timeout, time))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, instance.Stopping.Token))
                {
                    try
                    {
                        using var answer = await probes.GetAsync(url, linked.Token);
                        ok = (int)answer.StatusCode < 400;
                    }
                    catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !instance.Stopping.IsCancellationRequested))
                    {
                        ok = false;
                    }
                }

                failures = ok ? 0 : failures + 1;
                if (ok)
                {
                    instance.Ready = true;
                    instance.EverReady = true;
                }
                else if (failures >= probe.FailureThreshold)
                {
                    instance.Ready = false;
                }

                await Task.Delay(probe.Period, time, instance.Stopping.Token);
            }
        }
        catch (OperationCanceledException) when (instance.Stopping.IsCancellationRequested)
        {
            // Stopped.
        }

        instance.Ready = false;
    }

    private void Retire(Instance instance, TimeSpan drain)
    {
        ProcessRetired(log, instance.Pod);
        var stopping = Task.Run(async () =>
        {
            if (drain > TimeSpan.Zero)
            {
                await Task.Delay(drain, time);
            }

            await instance.StopAsync(StopGrace, time);
        });
        lock (retiring)
        {
            retiring.RemoveAll(t => t.IsCompleted);
            retiring.Add(stopping);
        }
    }

    private async Task WaitAsync(Site site, WorkloadTarget target, Func<Site, bool> done, string what, CancellationToken cancellationToken)
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

    private void LoadDesired(Site site)
    {
        if (site.Loaded)
        {
            return;
        }

        var path = StatePath(site);
        if (File.Exists(path))
        {
            try
            {
                site.Desired = JsonSerializer.Deserialize<Desired>(File.ReadAllText(path), StateJson) ?? new Desired(null, null);
                if (new[] { site.Desired.Primary, site.Desired.Canary }.Any(spec => spec is not null && (spec.Command is not { Count: > 0 } || spec.Probe is null || spec.Environment is null)))
                {
                    throw new JsonException("a spec lacks its command, environment or probe");
                }
            }
            catch (JsonException e)
            {
                throw new WorkloadNotReadyException($"{path} cannot be read ({e.Message}); delete it to start {site.Key} again from its process file");
            }
        }

        site.Loaded = true;
    }

    private void SaveDesired(Site site)
    {
        var path = StatePath(site);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(site.Desired, StateJson));
        File.Move(temporary, path, overwrite: true);
    }

    private string StatePath(Site site) => Path.Combine(stateFolder, $"{site.Namespace}.{site.Name}.json");

    /// <summary>Prometheus file_sd: the target's processes that should be scraped, written only when they change.</summary>
    private void WriteTargets(Site site)
    {
        var groups = new[] { site.Primary, site.Pending, site.Canary }
            .Where(i => i is not null)
            .Select(i => new { targets = new[] { $"127.0.0.1:{i!.Port.ToString(CultureInfo.InvariantCulture)}" }, labels = new Dictionary<string, string> { ["namespace"] = site.Namespace, ["pod"] = i.Pod } })
            .ToList();
        var text = JsonSerializer.Serialize(groups, StateJson);
        if (text == site.WrittenTargets)
        {
            return;
        }

        var path = Path.Combine(TargetsFolder, $"{site.Namespace}.{site.Name}.json");
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
        site.WrittenTargets = text;
    }

    /// <summary>A free TCP port on loopback, as the OS hands it out.</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target}: started {Pod} (pid {Pid}) on port {Port}")]
    private static partial void ProcessStarted(ILogger logger, string target, string pod, int pid, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Target}: {Pod} exited with {ExitCode}; starting it again. Last output: {Tail}")]
    private static partial void ProcessExited(ILogger logger, string target, string pod, int? exitCode, string tail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target}: HAProxy server {Server} now points at {Pod}")]
    private static partial void SlotMoved(ILogger logger, string target, string server, string pod);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopping {Pod}")]
    private static partial void ProcessRetired(ILogger logger, string pod);

    /// <summary>What should run: the primary's spec, and the canary's during a release (saved in the state folder).</summary>
    private sealed record Desired(ProcessSpec? Primary, ProcessSpec? Canary);

    private sealed class Site(string ns, string name, LocalTarget target)
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public string Namespace => ns;

        public string Name => name;

        public string Key => $"{ns}/{name}";

        public LocalTarget Target { get; set; } = target;

        public bool Loaded { get; set; }

        public Desired Desired { get; set; } = new(null, null);

        public Instance? Primary { get; set; }

        /// <summary>The next primary, started from the promoted spec, until it is ready and the slot moves to it.</summary>
        public Instance? Pending { get; set; }

        public Instance? Canary { get; set; }

        public int PrimaryRestarts;
        public int PendingRestarts;
        public int CanaryRestarts;

        public string? WrittenTargets { get; set; }

        public bool PrimaryServing => Primary is { Serving: true };

        public bool CanaryFailed(DateTimeOffset now, TimeSpan deadline) => Failed(Canary, CanaryRestarts, now, deadline);

        public bool PendingFailed(DateTimeOffset now, TimeSpan deadline) => Failed(Pending, PendingRestarts, now, deadline);

        public string Describe() => string.Join("; ", new[] { ("primary", Primary), ("next primary", Pending), ("canary", Canary) }
            .Where(p => p.Item2 is not null)
            .Select(p => $"{p.Item1} {p.Item2!.Pod} {(p.Item2.Process.HasExited ? $"exited ({p.Item2.Process.ExitCode})" : p.Item2.Ready ? "ready" : "not ready")}"));

        /// <summary>Kubernetes' ProgressDeadlineExceeded: never ready within the deadline, or exited too often. A process that was ready and then fails its probe is only not ready.</summary>
        private static bool Failed(Instance? instance, int restarts, DateTimeOffset now, TimeSpan deadline) =>
            instance is not null && (restarts >= MaxRestarts || (!instance.EverReady && now - instance.DeadlineFrom > deadline));
    }

    private sealed class Instance(ProcessSpec spec, int port, string pod, ChildProcess process, DateTimeOffset deadlineFrom)
    {
        public ProcessSpec Spec => spec;

        public string Revision { get; } = spec.Revision;

        public int Port => port;

        public string Pod => pod;

        public ChildProcess Process => process;

        /// <summary>Where the progress deadline counts from: the first start of this spec in this role, until it was once ready.</summary>
        public DateTimeOffset DeadlineFrom => deadlineFrom;

        /// <summary>When its exit was first seen (for the restart back-off).</summary>
        public DateTimeOffset? ExitSeen { get; set; }

        public CancellationTokenSource Stopping { get; } = new();

        public Task? Probing { get; set; }

        public volatile bool Ready;

        public volatile bool EverReady;

        /// <summary>Its HAProxy slot points at it.</summary>
        public bool Pointed { get; set; }

        public bool Serving => Ready && Pointed && !process.HasExited;

        public async Task StopAsync(TimeSpan grace, TimeProvider time)
        {
            await Stopping.CancelAsync();
            await process.StopAsync(grace, time);
            await process.DisposeAsync();
        }
    }
}
