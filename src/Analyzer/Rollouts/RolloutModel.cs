using Canary.Analyzer.Metrics;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Rollouts;

/// <summary>The phases of a rollout (Flagger's, so its users read them at a glance).</summary>
internal enum RolloutPhase
{
    Initializing,
    Initialized,
    Progressing,
    WaitingPromotion,
    Promoting,
    Finalising,
    Succeeded,
    Failed,
}

/// <summary>How the new revision meets traffic.</summary>
internal enum RolloutStrategy
{
    /// <summary>Traffic moves to the canary step by step while it is analysed.</summary>
    Canary,

    /// <summary>The canary is analysed without production traffic for N iterations, then traffic switches at once.</summary>
    BlueGreen,

    /// <summary>Requests matching a header or cookie go to the canary for N iterations, then it is promoted.</summary>
    AbTest,
}

/// <summary>What the state machine needs of a Canary resource's spec.</summary>
internal sealed record RolloutSpec
{
    public RolloutStrategy Strategy { get; init; } = RolloutStrategy.Canary;

    /// <summary>The canary's weight at each step (canary strategy), e.g. 5, 10, 25, 50.</summary>
    public IReadOnlyList<int> StepWeights { get; init; } = [10, 20, 30, 40, 50];

    /// <summary>Analyses to pass before the switch (blue/green) or the promotion (A/B).</summary>
    public int Iterations { get; init; } = 10;

    /// <summary>The A/B match.</summary>
    public RouteMatch? Match { get; init; }

    /// <summary>Failed analyses before rollback (Flagger's analysis.threshold); analyses without evidence do not count.</summary>
    public int Threshold { get; init; } = 5;

    /// <summary>How long ticks without evidence may go on in a row before the release is rolled back (analysis.maxNoEvidence; default the progress deadline).</summary>
    public TimeSpan? MaxNoEvidence { get; init; }

    /// <summary>analysis.promoteEarly.below: promote once every sequential metric's upper bound is below it; null: never early.</summary>
    public double? PromoteEarlyBelow { get; init; }

    /// <summary>Time after each traffic change before its first analysis counts.</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.Zero;

    /// <summary>How long the canary may take to become ready before the release is rolled back.</summary>
    public TimeSpan ProgressDeadline { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Analyse and record decisions, but never move traffic or promote.</summary>
    public bool DryRun { get; init; }

    /// <summary>Promote as soon as the canary is ready, without analysis.</summary>
    public bool SkipAnalysis { get; init; }

    /// <summary>Do nothing until unsuspended.</summary>
    public bool Suspend { get; init; }

    /// <summary>A confirm-promotion gate (webhook) must open, or someone approve, before promotion.</summary>
    public bool ConfirmPromotion { get; init; }

    /// <summary>A confirm-traffic-increase gate must open before each weight increase.</summary>
    public bool ConfirmTrafficIncrease { get; init; }

    /// <summary>Mirror primary traffic to the canary while it is analysed without weight (istio only).</summary>
    public bool Mirror { get; init; }
}

/// <summary>What the shell finds out before deciding a tick, as the state machine asks: run the analysis, ask which gates, call which webhooks first.</summary>
internal sealed record TickPlan(bool Analyse, bool AskPromotionGate, bool AskTrafficGate, IReadOnlyList<string> WebhooksBefore)
{
    public static TickPlan Nothing { get; } = new(false, false, false, []);
}

/// <summary>A rollout's durable state: what the store keeps between ticks.</summary>
internal sealed record RolloutState
{
    public RolloutPhase Phase { get; init; } = RolloutPhase.Initializing;

    /// <summary>The revision being released (the target's), or the one last released.</summary>
    public string? Revision { get; init; }

    /// <summary>The revision the primary runs.</summary>
    public string? PrimaryRevision { get; init; }

    /// <summary>Index into the steps; -1 before the first step.</summary>
    public int Step { get; init; } = -1;

    public int CanaryWeight { get; init; }

    /// <summary>Analyses that failed or were inconclusive in this release (Flagger's failed checks).</summary>
    public int FailedChecks { get; init; }

    /// <summary>Analyses passed in this release (iterations of blue/green and A/B).</summary>
    public int Passed { get; init; }

    public bool Paused { get; init; }

    /// <summary>Someone approved the promotion (opens the confirm-promotion gate).</summary>
    public bool Approved { get; init; }

    public DateTimeOffset? PhaseSince { get; init; }

    /// <summary>When the weight last changed: analyses count after the warm-up from here.</summary>
    public DateTimeOffset? WeightSince { get; init; }

    public double? LastScore { get; init; }

    /// <summary>The end of the last interval fed to the sequential evidence: the next {{range}} starts here.</summary>
    public DateTimeOffset? CountedUntil { get; init; }

    /// <summary>Each sequential metric's stored evidence in this release (a fixed-size state per metric).</summary>
    public IReadOnlyDictionary<string, SequentialPrior>? Evidence { get; init; }

    /// <summary>Since when every analysis has been without evidence (null after one with evidence).</summary>
    public DateTimeOffset? NoEvidenceSince { get; init; }

    /// <summary>When the current (or last) release started: its evidence is drawn from here.</summary>
    public DateTimeOffset? ReleaseSince { get; init; }
}


/// <summary>The verdict of one analysis as the state machine sees it; Inconclusive is "no evidence", never "worse".</summary>
internal enum AnalysisVerdict
{
    Pass,
    Marginal,
    Fail,
    Inconclusive,

    /// <summary>A sequential metric's evidence crossed in its bad direction: the release rolls back at once.</summary>
    Crossed,
}

/// <summary>One analysis: its verdict, score and, when it did not pass, why (failing metrics, missing data, a source error).</summary>
internal sealed record AnalysisOutcome(AnalysisVerdict Verdict, double? Score, string Reason)
{
    /// <summary>Every sequential metric's upper bound is below analysis.promoteEarly.below (each with data).</summary>
    public bool PromoteEarly { get; init; }

    /// <summary>The sequential evidence after this analysis's interval, and where that interval ended; null when no interval was fed.</summary>
    public IReadOnlyDictionary<string, SequentialPrior>? Evidence { get; init; }

    public DateTimeOffset? CountedUntil { get; init; }
}

/// <summary>Manual inputs: from an annotation on the Canary (kubectl annotate) or, later, the API.</summary>
internal enum RolloutCommand
{
    Approve,
    Abort,
    Pause,
    Resume,
    Skip,
}

/// <summary>What the shell saw this tick.</summary>
internal sealed record Observation
{
    public required DateTimeOffset Now { get; init; }

    /// <summary>The target's revision now; null when it could not be read (the tick holds).</summary>
    public string? TargetRevision { get; init; }

    public WorkloadReadiness Canary { get; init; } = WorkloadReadiness.Unknown;

    /// <summary>The revision the primary runs now (read back from the cluster).</summary>
    public string? PrimaryRevision { get; init; }

    public WorkloadReadiness Primary { get; init; } = WorkloadReadiness.Unknown;

    /// <summary>This tick's analysis, when one was due and ran.</summary>
    public AnalysisOutcome? Analysis { get; init; }

    public IReadOnlyCollection<RolloutCommand> Commands { get; init; } = [];

    /// <summary>Whether the confirm-promotion gate is open now (null: not asked).</summary>
    public bool? PromotionGateOpen { get; init; }

    /// <summary>Whether the confirm-traffic-increase gate is open now (null: not asked).</summary>
    public bool? TrafficGateOpen { get; init; }
}

/// <summary>A rollout step's verdict (DESIGN's words).</summary>
internal enum StepVerdict
{
    None,
    Advance,
    Hold,
    Promote,
    Abort,
}

/// <summary>Something the shell does after persisting the decision; every action is idempotent.</summary>
internal abstract record RolloutAction
{
    public sealed record InitializeWorkloads : RolloutAction;

    public sealed record ReconcileRouter : RolloutAction;

    public sealed record SetRouting(Routing Routing) : RolloutAction;

    public sealed record ScaleCanaryUp : RolloutAction;

    public sealed record ScaleCanaryToZero : RolloutAction;

    public sealed record Promote(string Revision) : RolloutAction;

    /// <summary>pre-rollout, rollout (e.g. a load test), post-rollout, rollback.</summary>
    public sealed record CallWebhook(string Kind) : RolloutAction;
}

/// <summary>The next state, the actions to apply, the verdict and why, in one sentence.</summary>
internal sealed record Decision(RolloutState State, IReadOnlyList<RolloutAction> Actions, StepVerdict Verdict, string Reason)
{
    /// <summary>The release held because this tick had no evidence (the Canary's Evidence condition and a Warning event say why).</summary>
    public bool WithoutEvidence { get; init; }
}
