using System.Globalization;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Rollouts;

/// <summary>
/// The rollout's functional core (DESIGN: "Flow of one rollout tick"): a pure function from the
/// spec, the stored state and what was observed this tick to the next state, the actions to apply
/// and the reason. No I/O, no clock: time comes in the observation. Actions are level-triggered —
/// each tick re-emits what its phase needs (weights, scale) — so a crash between persisting a
/// decision and applying it is repaired by the next tick.
/// </summary>
internal static class RolloutStateMachine
{
    /// <summary>
    /// What the shell must find out before this tick's decision, given the commands it carries:
    /// whether to analyse (a step is under analysis, not paused, not skipped, past its warm-up);
    /// which gates to ask (confirm-promotion when this tick could promote, confirm-traffic-increase
    /// when it could raise the weight); and the webhooks to call first — the rollout webhook (e.g. a
    /// load test) once, before the analysis it feeds.
    /// </summary>
    public static TickPlan Plan(RolloutSpec spec, RolloutState state, DateTimeOffset now, IReadOnlyCollection<RolloutCommand>? commands = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(state);
        commands ??= [];
        var paused = !commands.Contains(RolloutCommand.Resume) && (state.Paused || commands.Contains(RolloutCommand.Pause));
        var active = state.Phase is RolloutPhase.Progressing or RolloutPhase.WaitingPromotion && !paused && !spec.Suspend && !commands.Contains(RolloutCommand.Abort);
        if (!active)
        {
            return TickPlan.Nothing;
        }

        var skip = commands.Contains(RolloutCommand.Skip);
        var analyse = !spec.SkipAnalysis && !skip && state.Step >= 0 && now - (state.WeightSince ?? now) >= spec.WarmUp;
        var lastStep = spec.Strategy != RolloutStrategy.Canary || state.Step + 1 >= spec.StepWeights.Count;
        return new TickPlan(
            Analyse: analyse,
            AskPromotionGate: spec.ConfirmPromotion && (state.Phase == RolloutPhase.WaitingPromotion || spec.SkipAnalysis || skip || (analyse && lastStep)),
            AskTrafficGate: spec.ConfirmTrafficIncrease && state.Phase == RolloutPhase.Progressing && analyse && !lastStep,
            WebhooksBefore: analyse ? ["rollout"] : []);
    }

    /// <summary>The canary weight the router should report for this state: none in a dry run, which never moves traffic.</summary>
    public static int ExpectedWeight(RolloutSpec spec, RolloutState state)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(state);
        return spec.DryRun ? 0 : state.CanaryWeight;
    }

    public static Decision Decide(RolloutSpec spec, RolloutState state, Observation observation)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(observation);
        if (spec.Suspend)
        {
            return new Decision(state, [], StepVerdict.Hold, "suspended: spec.suspend is true; nothing changes until it is false");
        }

        var s = state;
        var commands = observation.Commands;
        if (commands.Contains(RolloutCommand.Abort) && s.Phase is RolloutPhase.Progressing or RolloutPhase.WaitingPromotion or RolloutPhase.Promoting)
        {
            return Rollback(s, observation, "aborted by hand");
        }

        if (commands.Contains(RolloutCommand.Resume))
        {
            s = s with { Paused = false };
        }
        else if (commands.Contains(RolloutCommand.Pause))
        {
            s = s with { Paused = true };
        }

        if (commands.Contains(RolloutCommand.Approve))
        {
            s = s with { Approved = true };
        }

        if (s.Paused)
        {
            return new Decision(s, [], StepVerdict.Hold, $"paused by hand at {s.CanaryWeight} % on the canary; resume to continue");
        }

        var decision = s.Phase switch
        {
            RolloutPhase.Initializing => Initialize(s, observation),
            RolloutPhase.Initialized or RolloutPhase.Succeeded or RolloutPhase.Failed => Idle(s, observation),
            RolloutPhase.Progressing or RolloutPhase.WaitingPromotion => Progress(spec, s, observation),
            RolloutPhase.Promoting => Promoting(spec, s, observation),
            _ => Finalise(s, observation),
        };
        return spec.DryRun ? WithoutTraffic(decision) : Mirrored(spec, decision);
    }

    private static Decision Initialize(RolloutState s, Observation o)
    {
        if (o.TargetRevision is null)
        {
            return new Decision(s, [], StepVerdict.Hold, "waiting to read the target");
        }

        var next = s with { Phase = RolloutPhase.Initialized, Revision = o.TargetRevision, PrimaryRevision = o.TargetRevision, PhaseSince = o.Now, Step = -1, CanaryWeight = 0 };
        return new Decision(next, [new RolloutAction.InitializeWorkloads(), new RolloutAction.ReconcileRouter(), new RolloutAction.SetRouting(Routing.AllPrimary)],
            StepVerdict.None, $"initialized: the primary runs revision {o.TargetRevision} and takes all traffic");
    }

    private static Decision Idle(RolloutState s, Observation o)
    {
        if (o.TargetRevision is not null && o.TargetRevision != s.Revision)
        {
            return Start(s, o, $"new revision {o.TargetRevision} (the primary runs {s.PrimaryRevision}): starting the release");
        }

        // A failed release stays failed until a new revision; a settled one keeps all traffic on the primary.
        return new Decision(s, [new RolloutAction.SetRouting(Routing.AllPrimary), new RolloutAction.ScaleCanaryToZero()], StepVerdict.None,
            s.Phase == RolloutPhase.Failed ? $"revision {s.Revision} was rolled back; waiting for a new revision" : $"idle: the primary runs {s.PrimaryRevision}");
    }

    private static Decision Start(RolloutState s, Observation o, string reason)
    {
        var next = s with
        {
            Phase = RolloutPhase.Progressing,
            Revision = o.TargetRevision,
            Step = -1,
            CanaryWeight = 0,
            FailedChecks = 0,
            Passed = 0,
            Approved = false,
            PhaseSince = o.Now,
            WeightSince = o.Now,
            // A new revision's evidence starts from nothing, counted from when its canary is ready.
            CountedUntil = null,
            Evidence = null,
            NoEvidenceSince = null,
            ReleaseSince = o.Now,
        };
        return new Decision(next,
            [new RolloutAction.CallWebhook("pre-rollout"), new RolloutAction.ReconcileRouter(), new RolloutAction.SetRouting(Routing.AllPrimary), new RolloutAction.ScaleCanaryUp()],
            StepVerdict.Hold, reason);
    }

    private static Decision Progress(RolloutSpec spec, RolloutState s, Observation o)
    {
        if (o.TargetRevision is not null && o.TargetRevision != s.Revision)
        {
            return Start(s, o, $"new revision {o.TargetRevision} in the middle of the release of {s.Revision}: restarting from weight 0");
        }

        if (o.Canary == WorkloadReadiness.Failed)
        {
            return Rollback(s, o, "the canary did not become ready: Kubernetes reports ProgressDeadlineExceeded");
        }

        if (o.Canary != WorkloadReadiness.Ready)
        {
            if (o.Now - (s.PhaseSince ?? o.Now) > spec.ProgressDeadline && s.Step < 0)
            {
                return Rollback(s, o, $"the canary was not ready within the progress deadline ({spec.ProgressDeadline})");
            }

            return new Decision(s, [new RolloutAction.ScaleCanaryUp(), new RolloutAction.SetRouting(Current(spec, s))], StepVerdict.Hold, "waiting for the canary to be ready");
        }

        if (o.Commands.Contains(RolloutCommand.Skip) || spec.SkipAnalysis)
        {
            return ToPromotion(spec, s, o, o.Commands.Contains(RolloutCommand.Skip) ? "analysis skipped by hand" : "spec.skipAnalysis: promoting without analysis");
        }

        if (s.Step < 0 && s.Phase == RolloutPhase.Progressing)
        {
            return NextStep(spec, s, o, "the canary is ready");
        }

        if (s.Phase == RolloutPhase.WaitingPromotion && (o.PromotionGateOpen == true || s.Approved) && o.Analysis?.Verdict is null or AnalysisVerdict.Pass)
        {
            return ToPromotion(spec, s, o, s.Approved ? "approved" : "the confirm-promotion gate opened");
        }

        if (o.Analysis is not { } analysis)
        {
            return new Decision(s, Steady(spec, s), StepVerdict.Hold, s.Phase == RolloutPhase.WaitingPromotion && s.Step < 0
                ? "analysis skipped; waiting for the confirm-promotion gate (or an approval)"
                : $"waiting for the next analysis at {s.CanaryWeight} %");
        }

        // The sequential evidence moves on with every interval fed to it, whatever this analysis's verdict.
        var scored = s with
        {
            LastScore = analysis.Score ?? s.LastScore,
            Evidence = analysis.Evidence ?? s.Evidence,
            CountedUntil = analysis.CountedUntil ?? s.CountedUntil,
            NoEvidenceSince = analysis.Verdict == AnalysisVerdict.Inconclusive ? s.NoEvidenceSince ?? o.Now : null,
        };
        switch (analysis.Verdict)
        {
            case AnalysisVerdict.Crossed:
                // Anytime-valid evidence may be acted on at once: no threshold to wait for.
                return Rollback(scored, o, $"the evidence crossed: {analysis.Reason}");
            case AnalysisVerdict.Inconclusive:
                // No evidence is not failure: hold, never count it; only a long run of it ends the release.
                var without = o.Now - scored.NoEvidenceSince!.Value;
                var limit = spec.MaxNoEvidence ?? spec.ProgressDeadline;
                return without >= limit
                    ? Rollback(scored, o, $"no evidence for {TimeArguments.Format(without)} in a row (analysis.maxNoEvidence {TimeArguments.Format(limit)}): {analysis.Reason}") with { WithoutEvidence = true }
                    : new Decision(scored, Steady(spec, scored), StepVerdict.Hold,
                        $"no evidence (holding at {s.CanaryWeight} %, not a failed check): {analysis.Reason}; without evidence for {TimeArguments.Format(without)} of {TimeArguments.Format(limit)}") { WithoutEvidence = true };
            case AnalysisVerdict.Fail:
                var failed = scored with { FailedChecks = s.FailedChecks + 1 };
                var count = $"{failed.FailedChecks} of {spec.Threshold} failed checks";
                return failed.FailedChecks >= spec.Threshold
                    ? Rollback(failed, o, $"analysis failed{Score(analysis)}: {analysis.Reason}; {count}")
                    : new Decision(failed, Steady(spec, failed), StepVerdict.Hold, $"analysis failed{Score(analysis)}: {analysis.Reason}; {count}; holding at {s.CanaryWeight} %");
            case AnalysisVerdict.Marginal:
                return new Decision(scored, Steady(spec, scored), StepVerdict.Hold, $"analysis marginal{Score(analysis)}: {analysis.Reason}; holding at {s.CanaryWeight} %");
            default:
                var passed = scored with { Passed = s.Passed + 1 };
                if (analysis.PromoteEarly && spec.PromoteEarlyBelow is { } below)
                {
                    return ToPromotion(spec, passed, o, $"analysis passed{Score(analysis)} and every sequential metric's upper bound is below ×{below.ToString("0.###", CultureInfo.InvariantCulture)} (analysis.promoteEarly)");
                }

                return s.Phase == RolloutPhase.WaitingPromotion
                    ? ToPromotion(spec, passed, o, $"analysis passed{Score(analysis)}")
                    : NextStep(spec, passed, o, $"analysis passed{Score(analysis)}");
        }
    }

    /// <summary>After a pass (or once the canary is ready): the next weight, or promotion when the steps are done.</summary>
    private static Decision NextStep(RolloutSpec spec, RolloutState s, Observation o, string why)
    {
        if (spec.Strategy != RolloutStrategy.Canary)
        {
            if (s.Step < 0)
            {
                var started = s with { Step = 0, WeightSince = o.Now, CountedUntil = o.Now };
                var how = spec.Strategy == RolloutStrategy.AbTest ? $"requests with {spec.Match} go to the canary" : "the canary is analysed without production traffic";
                return new Decision(started, Steady(spec, started), StepVerdict.Advance, $"{why}: {how} for {spec.Iterations} analyses");
            }

            return s.Passed >= spec.Iterations
                ? ToPromotion(spec, s, o, $"{why}: {s.Passed} of {spec.Iterations} iterations passed")
                : new Decision(s, Steady(spec, s), StepVerdict.Hold, $"{why}: {s.Passed} of {spec.Iterations} iterations passed");
        }

        var next = s.Step + 1;
        if (next >= spec.StepWeights.Count)
        {
            return ToPromotion(spec, s, o, $"{why} at the last step ({s.CanaryWeight} %)");
        }

        if (spec.ConfirmTrafficIncrease && s.Step >= 0 && o.TrafficGateOpen != true)
        {
            return new Decision(s, Steady(spec, s), StepVerdict.Hold, $"{why}; waiting for the confirm-traffic-increase gate before {spec.StepWeights[next]} %");
        }

        var weight = spec.StepWeights[next];
        // The first step starts the count: the first {{range}} begins when the canary became ready.
        var advanced = s with { Step = next, CanaryWeight = weight, WeightSince = o.Now, CountedUntil = s.Step < 0 ? o.Now : s.CountedUntil };
        return new Decision(advanced, [new RolloutAction.SetRouting(new Routing(weight))], StepVerdict.Advance,
            $"{why}: canary weight {s.CanaryWeight} % → {weight} %");
    }

    private static Decision ToPromotion(RolloutSpec spec, RolloutState s, Observation o, string why)
    {
        if (spec.ConfirmPromotion && o.PromotionGateOpen != true && !s.Approved)
        {
            var waiting = s with { Phase = RolloutPhase.WaitingPromotion };
            return new Decision(waiting, Steady(spec, waiting), StepVerdict.Hold, $"{why}; waiting for the confirm-promotion gate (or an approval)");
        }

        if (spec.DryRun)
        {
            var done = s with { Phase = RolloutPhase.Succeeded, PhaseSince = o.Now, Step = -1, CanaryWeight = 0 };
            return new Decision(done, [new RolloutAction.ScaleCanaryToZero()], StepVerdict.Promote, $"{why}: revision {s.Revision} would be promoted now");
        }

        var promoting = s with { Phase = RolloutPhase.Promoting, PhaseSince = o.Now };
        // Blue/green switches all traffic to the new version while the primary is updated.
        List<RolloutAction> actions = spec.Strategy == RolloutStrategy.BlueGreen
            ? [new RolloutAction.SetRouting(new Routing(100)), new RolloutAction.Promote(s.Revision!)]
            : [new RolloutAction.SetRouting(Current(spec, s)), new RolloutAction.Promote(s.Revision!)];
        if (spec.Strategy == RolloutStrategy.BlueGreen)
        {
            promoting = promoting with { CanaryWeight = 100 };
        }

        return new Decision(promoting, actions, StepVerdict.Promote, $"{why}: promoting revision {s.Revision}");
    }

    private static Decision Promoting(RolloutSpec spec, RolloutState s, Observation o)
    {
        if (o.TargetRevision is not null && o.TargetRevision != s.Revision)
        {
            return Start(s, o, $"new revision {o.TargetRevision} during the promotion of {s.Revision}: restarting from weight 0");
        }

        if (o.PrimaryRevision == s.Revision && o.Primary == WorkloadReadiness.Ready)
        {
            var finalising = s with { Phase = RolloutPhase.Finalising, PrimaryRevision = s.Revision, PhaseSince = o.Now, CanaryWeight = 0, Step = -1 };
            return new Decision(finalising, [new RolloutAction.SetRouting(Routing.AllPrimary), new RolloutAction.ScaleCanaryToZero()], StepVerdict.Promote,
                $"the primary runs revision {s.Revision}: all traffic back to the primary");
        }

        if (o.Primary == WorkloadReadiness.Failed || o.Now - (s.PhaseSince ?? o.Now) > spec.ProgressDeadline)
        {
            return Rollback(s, o, $"the primary's rollout of revision {s.Revision} did not become ready within the progress deadline");
        }

        return new Decision(s, [new RolloutAction.SetRouting(Current(spec, s)), new RolloutAction.Promote(s.Revision!)], StepVerdict.Promote, $"promoting revision {s.Revision}: waiting for the primary's rollout");
    }

    private static Decision Finalise(RolloutState s, Observation o)
    {
        var done = s with { Phase = RolloutPhase.Succeeded, PhaseSince = o.Now };
        return new Decision(done, [new RolloutAction.SetRouting(Routing.AllPrimary), new RolloutAction.ScaleCanaryToZero(), new RolloutAction.CallWebhook("post-rollout")],
            StepVerdict.None, $"release of revision {s.Revision} succeeded");
    }

    private static Decision Rollback(RolloutState s, Observation o, string reason)
    {
        var failed = s with { Phase = RolloutPhase.Failed, PhaseSince = o.Now, CanaryWeight = 0, Step = -1, Approved = false };
        return new Decision(failed, [new RolloutAction.SetRouting(Routing.AllPrimary), new RolloutAction.ScaleCanaryToZero(), new RolloutAction.CallWebhook("rollback")],
            StepVerdict.Abort, $"rolled back: {reason}");
    }

    /// <summary>What a phase keeps in place each tick: the routing of the current step and a running canary.</summary>
    private static List<RolloutAction> Steady(RolloutSpec spec, RolloutState s) =>
        [new RolloutAction.SetRouting(Current(spec, s)), new RolloutAction.ScaleCanaryUp()];

    private static Routing Current(RolloutSpec spec, RolloutState s) => spec.Strategy switch
    {
        RolloutStrategy.AbTest when s.Step >= 0 => new Routing(0, spec.Match),
        RolloutStrategy.BlueGreen when s.Phase == RolloutPhase.Promoting => new Routing(100),
        _ => new Routing(s.CanaryWeight),
    };

    /// <summary>Dry run: the decision as made, without anything that moves traffic or promotes.</summary>
    private static Decision WithoutTraffic(Decision decision) => decision with
    {
        Actions = [.. decision.Actions.Where(a => a is not RolloutAction.Promote && !(a is RolloutAction.SetRouting r && r.Routing != Routing.AllPrimary))],
        Reason = $"dry run (no traffic moved): {decision.Reason}",
    };

    /// <summary>With spec.mirror, primary traffic is copied to the canary while it is analysed with no weight of its own (Flagger's mirroring).</summary>
    private static Decision Mirrored(RolloutSpec spec, Decision decision) =>
        !spec.Mirror || decision.State.Phase is not (RolloutPhase.Progressing or RolloutPhase.WaitingPromotion) ? decision : decision with
        {
            Actions = [.. decision.Actions.Select(a => a is RolloutAction.SetRouting { Routing.CanaryWeight: 0 } set ? new RolloutAction.SetRouting(set.Routing with { Mirror = true }) : a)],
        };

    private static string Score(AnalysisOutcome analysis) =>
        analysis.Score is { } score ? $" (score {score.ToString("0.##", CultureInfo.InvariantCulture)})" : string.Empty;
}
