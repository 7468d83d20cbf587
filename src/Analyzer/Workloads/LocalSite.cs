namespace Canary.Analyzer.Workloads;

/// <summary>One local target as LocalWorkloads keeps it: what should run, the processes that run in each role, and the gate that orders changes to them.</summary>
internal sealed class LocalSite(string ns, string name, LocalTarget target)
{
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public string Namespace => ns;

    public string Name => name;

    public string Key => $"{ns}/{name}";

    public LocalTarget Target { get; set; } = target;

    /// <summary>What should run was read, and recorded processes were taken over.</summary>
    public bool Loaded { get; set; }

    public DesiredProcesses Desired { get; set; } = DesiredProcesses.None;

    public LocalInstance? Primary { get; set; }

    /// <summary>The next primary, started from the promoted spec, until it is ready and the slot moves to it.</summary>
    public LocalInstance? Pending { get; set; }

    public LocalInstance? Canary { get; set; }

    /// <summary>A process just started, recorded in its role before it takes it.</summary>
    public (LocalInstance Instance, ProcessRole Role)? Starting { get; set; }

    /// <summary>Processes being stopped.</summary>
    public List<LocalInstance> Retiring { get; } = [];

    public int PrimaryRestarts;
    public int PendingRestarts;
    public int CanaryRestarts;

    /// <summary>The processes record as last written.</summary>
    public string? RecordText { get; set; }

    public bool PrimaryServing => Primary is { Serving: true };

    /// <summary>The processes in a role (not the retiring ones).</summary>
    public IEnumerable<LocalInstance> Running() => new[] { Primary, Pending, Canary }.OfType<LocalInstance>();

    public IEnumerable<RecordedProcess> Records()
    {
        foreach (var (instance, role) in new[] { (Primary, ProcessRole.Primary), (Pending, ProcessRole.NextPrimary), (Canary, ProcessRole.Canary), (Starting?.Instance, Starting?.Role ?? ProcessRole.Retiring) })
        {
            if (instance is not null && !Retiring.Contains(instance))
            {
                yield return instance.Record(role);
            }
        }

        foreach (var instance in Retiring)
        {
            yield return instance.Record(ProcessRole.Retiring);
        }
    }

    public bool CanaryFailed(DateTimeOffset now, TimeSpan deadline) => Failed(Canary, CanaryRestarts, now, deadline);

    public bool PendingFailed(DateTimeOffset now, TimeSpan deadline) => Failed(Pending, PendingRestarts, now, deadline);

    public string Describe() => string.Join("; ", new[] { ("primary", Primary), ("next primary", Pending), ("canary", Canary) }
        .Where(p => p.Item2 is not null)
        .Select(p => $"{p.Item1} {p.Item2!.Pod} {(p.Item2.Process.HasExited ? $"exited ({p.Item2.Process.ExitCode})" : p.Item2.Ready ? "ready" : "not ready")}"));

    /// <summary>Kubernetes' ProgressDeadlineExceeded: never ready within the deadline, or exited too often. A process that was ready and then fails its probe is only not ready.</summary>
    private static bool Failed(LocalInstance? instance, int restarts, DateTimeOffset now, TimeSpan deadline) =>
        instance is not null && (restarts >= LocalWorkloads.MaxRestarts || (!instance.EverReady && now - instance.DeadlineFrom > deadline));
}
