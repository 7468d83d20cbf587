namespace Canary.Analyzer.Workloads;

/// <summary>The workload a canary owns: the target Deployment (or process set) and how to run it.</summary>
internal sealed record WorkloadTarget(string Namespace, string Name)
{
    /// <summary>How long a rollout may take to become ready (Kubernetes' progressDeadlineSeconds, Flagger's default 10 minutes).</summary>
    public TimeSpan ProgressDeadline { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The services' port; by default the first container port of the target, else 80.</summary>
    public int? Port { get; init; }

    public string Primary => $"{Name}-primary";

    public string Canary => $"{Name}-canary";
}

/// <summary>A deployment's readiness as the rollout sees it: Unknown when it could not be read (the tick holds), Missing when it does not exist.</summary>
internal enum WorkloadReadiness
{
    Unknown,
    Missing,
    NotReady,
    Ready,
    Failed,
}

/// <summary>The target's revision, the canary's and the primary's readiness, and the revision the primary runs.</summary>
internal sealed record WorkloadStatus(string Revision, WorkloadReadiness Canary, WorkloadReadiness Primary, string? PrimaryRevision);

/// <summary>What <see cref="IWorkloadController.InitializeAsync"/> set up: the revision the primary runs.</summary>
internal sealed record WorkloadState(string Revision, int Replicas);

/// <summary>
/// Ownership of the primary and canary workloads (DESIGN: Workloads/). Every method is idempotent:
/// calling it again after a crash repairs what a first call left half done.
/// </summary>
internal interface IWorkloadController
{
    /// <summary>Creates or repairs the primary, the services and copied configs, waits for the primary, and scales the target to 0.</summary>
    Task<WorkloadState> InitializeAsync(WorkloadTarget target, CancellationToken cancellationToken);

    /// <summary>A hash of the target's pod template and of the ConfigMaps and Secrets it uses: a new value is a new revision.</summary>
    Task<string> RevisionAsync(WorkloadTarget target, CancellationToken cancellationToken);

    /// <summary>
    /// Scales the canary (the target) to replicas (null: the size the target had before canary
    /// scaled it to 0); with wait, until they are ready within the progress deadline.
    /// </summary>
    Task ScaleCanaryAsync(WorkloadTarget target, int? replicas, CancellationToken cancellationToken, bool wait = true);

    /// <summary>Where the workloads stand now, without waiting: readiness of both, and the primary's revision.</summary>
    Task<WorkloadStatus> StatusAsync(WorkloadTarget target, CancellationToken cancellationToken);

    /// <summary>
    /// Copies the canary's pod spec (and configs) to the primary and waits for the primary's rollout.
    /// revision is the one that was analysed: when the target has moved on since, nothing is copied
    /// and <see cref="RevisionChangedException"/> says so (the release starts again).
    /// </summary>
    Task PromoteAsync(WorkloadTarget target, string revision, CancellationToken cancellationToken, bool wait = true);

    /// <summary>Scales the canary to 0 (after promotion, and on rollback, which leaves the primary untouched).</summary>
    Task ScaleCanaryToZeroAsync(WorkloadTarget target, CancellationToken cancellationToken);
}

/// <summary>The target changed after its analysis began: a new revision in the middle of a release.</summary>
internal sealed class RevisionChangedException : Documents.ExternalFaultException
{
    public RevisionChangedException(string message)
        : base(message)
    {
    }

    public RevisionChangedException()
    {
    }

    public RevisionChangedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A workload that did not become ready: the progress deadline passed, or Kubernetes gave up (ProgressDeadlineExceeded).</summary>
internal sealed class WorkloadNotReadyException : Documents.ExternalFaultException
{
    public WorkloadNotReadyException(string message)
        : base(message)
    {
    }

    public WorkloadNotReadyException()
    {
    }

    public WorkloadNotReadyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
