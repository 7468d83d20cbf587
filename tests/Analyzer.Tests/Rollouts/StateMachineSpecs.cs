using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>What the state machine tests share: the rollout spec, the analyses' outcomes, observations, and a runner of ticks.</summary>
internal static class StateMachineSpecs
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    public static readonly RolloutSpec Spec = new() { StepWeights = [5, 10, 25, 50], Threshold = 3, ProgressDeadline = TimeSpan.FromMinutes(10) };
    public static readonly AnalysisOutcome Pass = new(AnalysisVerdict.Pass, 100, "every metric passed");
    public static readonly AnalysisOutcome Fail = new(AnalysisVerdict.Fail, 40, "error rate High");

    /// <summary>A release of r2 over a primary on r1, at its first step (5 %).</summary>
    public static Run Progressing(RolloutSpec spec)
    {
        var run = new Run(spec);
        run.Tick(Seen(0, "r1"));
        run.Tick(Seen(1, "r2"));
        run.Tick(Seen(2, "r2", canary: WorkloadReadiness.Ready));
        return run;
    }

    public static Observation Seen(
        int minute, string revision, WorkloadReadiness canary = WorkloadReadiness.Unknown, AnalysisOutcome? analysis = null, RolloutCommand[]? commands = null,
        bool? promotionGate = null, bool? trafficGate = null, string primaryRevision = "r1", WorkloadReadiness primary = WorkloadReadiness.Ready) => new()
        {
            Now = T0.AddMinutes(minute),
            TargetRevision = revision,
            Canary = canary,
            Analysis = analysis,
            Commands = commands ?? [],
            PromotionGateOpen = promotionGate,
            TrafficGateOpen = trafficGate,
            PrimaryRevision = primaryRevision,
            Primary = primary,
        };

    /// <summary>Ticks one rollout: keeps its state and every decision.</summary>
    public sealed class Run(RolloutSpec spec)
    {
        public RolloutState State { get; private set; } = new();

        public List<Decision> All { get; } = [];

        public Decision Last => All[^1];

        public Decision Tick(Observation observation)
        {
            var decision = RolloutStateMachine.Decide(spec, State, observation);
            State = decision.State;
            All.Add(decision);
            return decision;
        }
    }
}
