using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using static Canary.Analyzer.Rollouts.RolloutAction;
using static Canary.Analyzer.Tests.Rollouts.StateMachineSpecs;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>The rollout's rules, decided without I/O: a tick is (spec, state, observation) → decision. Here a release's course: its steps, promotion, failures and rollback, and its webhooks.</summary>
public sealed class RolloutStateMachineTests
{
    private static readonly AnalysisOutcome NoEvidence = new(AnalysisVerdict.Inconclusive, null, "Prometheus at http://prometheus:9090/ did not answer");

    [Fact]
    public void Initializing_sets_up_the_workloads_with_everything_routed_to_the_primary()
    {
        var decision = RolloutStateMachine.Decide(Spec, new RolloutState(), Seen(0, "r1"));
        Assert.Equal(RolloutPhase.Initialized, decision.State.Phase);
        Assert.Equal(("r1", "r1"), (decision.State.Revision, decision.State.PrimaryRevision));
        Assert.Equal([new InitializeWorkloads(), new ReconcileRouter(), new SetRouting(Routing.AllPrimary)], decision.Actions);
    }

    [Fact]
    public void A_new_revision_starts_a_release_scaling_the_canary_up_with_the_pre_rollout_webhook()
    {
        var run = new Run(Spec);
        run.Tick(Seen(0, "r1"));
        var start = run.Tick(Seen(1, "r2"));
        Assert.Equal(RolloutPhase.Progressing, start.State.Phase);
        Assert.Contains(new ScaleCanaryUp(), start.Actions);
        Assert.Contains(new CallWebhook("pre-rollout"), start.Actions);
    }

    [Fact]
    public void A_healthy_release_walks_every_step_to_its_promotion()
    {
        var run = new Run(Spec);
        run.Tick(Seen(0, "r1"));
        run.Tick(Seen(1, "r2"));
        var weights = new List<int>();
        var first = run.Tick(Seen(2, "r2", canary: WorkloadReadiness.Ready));
        weights.Add(first.State.CanaryWeight);
        for (var minute = 3; run.State.Phase == RolloutPhase.Progressing; minute++)
        {
            var d = run.Tick(Seen(minute, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
            if (d.Verdict == StepVerdict.Advance)
            {
                Assert.Contains(new SetRouting(new Routing(d.State.CanaryWeight)), d.Actions);
                weights.Add(d.State.CanaryWeight);
            }
        }

        Assert.Equal([5, 10, 25, 50], weights);
        Assert.Equal(RolloutPhase.Promoting, run.State.Phase);
        Assert.Contains(new Promote("r2"), run.Last.Actions);
        Assert.Equal(StepVerdict.Promote, run.Last.Verdict);
    }

    [Fact]
    public void Promoting_goes_on_at_the_last_weight_until_the_primary_has_rolled_out()
    {
        var run = Promoted();

        // The primary has not rolled out yet: keep promoting (idempotent), keep the weight.
        var promotedAt = run.Last.State.PhaseSince!.Value.Minute;
        var waiting = run.Tick(Seen(promotedAt + 1, "r2", canary: WorkloadReadiness.Ready, primaryRevision: "r1", primary: WorkloadReadiness.NotReady));
        Assert.Equal(RolloutPhase.Promoting, waiting.State.Phase);
        Assert.Contains(new SetRouting(new Routing(50)), waiting.Actions);
    }

    [Fact]
    public void Once_the_primary_has_rolled_out_the_release_finalises_to_success()
    {
        var run = Promoted();
        var promotedAt = run.Last.State.PhaseSince!.Value.Minute;
        var finalising = run.Tick(Seen(promotedAt + 2, "r2", canary: WorkloadReadiness.Ready, primaryRevision: "r2", primary: WorkloadReadiness.Ready));
        Assert.Equal(RolloutPhase.Finalising, finalising.State.Phase);
        Assert.Equal([new SetRouting(Routing.AllPrimary), new ScaleCanaryToZero()], finalising.Actions);
        var done = run.Tick(Seen(promotedAt + 3, "r2", primaryRevision: "r2", primary: WorkloadReadiness.Ready));
        Assert.Equal(RolloutPhase.Succeeded, done.State.Phase);
        Assert.Contains(new CallWebhook("post-rollout"), done.Actions);
        Assert.Equal("r2", done.State.PrimaryRevision);
    }

    [Fact]
    public void A_succeeded_release_does_not_restart_for_the_same_revision()
    {
        var run = Promoted();
        var promotedAt = run.Last.State.PhaseSince!.Value.Minute;
        run.Tick(Seen(promotedAt + 2, "r2", canary: WorkloadReadiness.Ready, primaryRevision: "r2", primary: WorkloadReadiness.Ready));
        run.Tick(Seen(promotedAt + 3, "r2", primaryRevision: "r2", primary: WorkloadReadiness.Ready));

        // Settled: nothing restarts for the same revision.
        Assert.Equal(RolloutPhase.Succeeded, run.Tick(Seen(promotedAt + 4, "r2", primaryRevision: "r2")).State.Phase);
    }

    [Fact]
    public void A_failed_analysis_holds_the_weight_counting_a_failed_check()
    {
        var run = Progressing(Spec);
        var first = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Fail));
        Assert.Equal(StepVerdict.Hold, first.Verdict);
        Assert.Equal(5, first.State.CanaryWeight);
        Assert.Equal("analysis failed (score 40): error rate High; 1 of 3 failed checks; holding at 5 %", first.Reason);
    }

    [Fact]
    public void Failed_analyses_roll_back_at_the_threshold_with_the_reason()
    {
        var run = RolledBack();
        var rollback = run.Last;
        Assert.Equal(RolloutPhase.Failed, rollback.State.Phase);
        Assert.Equal(StepVerdict.Abort, rollback.Verdict);
        Assert.Equal("rolled back: analysis failed (score 40): error rate High; 3 of 3 failed checks", rollback.Reason);
        Assert.Equal([new SetRouting(Routing.AllPrimary), new ScaleCanaryToZero(), new CallWebhook("rollback")], rollback.Actions);
        Assert.Equal("r1", rollback.State.PrimaryRevision);
    }

    [Fact]
    public void A_rolled_back_revision_is_not_tried_again_but_a_new_one_is()
    {
        var run = RolledBack();
        Assert.Equal(RolloutPhase.Failed, run.Tick(Seen(9, "r2")).State.Phase);
        Assert.Equal(RolloutPhase.Progressing, run.Tick(Seen(10, "r3")).State.Phase);
    }

    [Fact]
    public void Missing_evidence_holds_never_promoting()
    {
        var run = Progressing(Spec with { StepWeights = [50] });
        var hold = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        Assert.Equal(StepVerdict.Hold, hold.Verdict);
        Assert.DoesNotContain(hold.Actions, a => a is Promote);
        Assert.StartsWith("no evidence (holding at 50 %, not a failed check): Prometheus at", hold.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_evidence_is_not_a_failed_check()
    {
        var run = Progressing(Spec with { StepWeights = [50] });
        for (var minute = 5; minute < 9; minute++)
        {
            run.Tick(Seen(minute, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        }

        Assert.Equal((RolloutPhase.Progressing, 0), (run.State.Phase, run.State.FailedChecks));
    }

    [Fact]
    public void Missing_evidence_for_max_no_evidence_in_a_row_rolls_back()
    {
        var run = Progressing(Spec with { StepWeights = [50], MaxNoEvidence = TimeSpan.FromMinutes(3) });
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        run.Tick(Seen(7, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        var rollback = run.Tick(Seen(8, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        Assert.Equal(RolloutPhase.Failed, rollback.State.Phase);
        Assert.StartsWith("rolled back: no evidence for 3m in a row (analysis.maxNoEvidence 3m)", rollback.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_analysis_with_evidence_restarts_the_count_of_max_no_evidence()
    {
        var run = Progressing(Spec with { StepWeights = [10, 50], MaxNoEvidence = TimeSpan.FromMinutes(3), Threshold = 5 });
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        run.Tick(Seen(7, "r2", canary: WorkloadReadiness.Ready, analysis: Fail));
        var held = run.Tick(Seen(9, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        Assert.Equal(RolloutPhase.Progressing, held.State.Phase);
    }

    [Fact]
    public void Without_max_no_evidence_the_progress_deadline_is_the_limit()
    {
        var run = Progressing(Spec with { StepWeights = [50], ProgressDeadline = TimeSpan.FromMinutes(4) });
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        Assert.Equal(RolloutPhase.Progressing, run.Tick(Seen(8, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence)).State.Phase);
        Assert.Equal(RolloutPhase.Failed, run.Tick(Seen(9, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence)).State.Phase);
    }

    [Fact]
    public void A_crossed_metric_rolls_back_at_once_whatever_the_threshold()
    {
        var run = Progressing(Spec with { Threshold = 10 });
        var rollback = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: new AnalysisOutcome(AnalysisVerdict.Crossed, 0, "errors is higher")));
        Assert.Equal((RolloutPhase.Failed, StepVerdict.Abort), (rollback.State.Phase, rollback.Verdict));
        Assert.Equal("rolled back: the evidence crossed: errors is higher", rollback.Reason);
    }

    [Fact]
    public void Early_promotion_promotes_from_the_first_step()
    {
        var run = Progressing(Spec with { PromoteEarlyBelow = 1.2 });
        var promote = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass with { PromoteEarly = true }));
        Assert.Equal((RolloutPhase.Promoting, StepVerdict.Promote), (promote.State.Phase, promote.Verdict));
        Assert.Contains("every sequential metric's upper bound is below ×1.2 (analysis.promoteEarly)", promote.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Early_promotion_still_waits_for_the_confirm_promotion_gate()
    {
        var run = Progressing(Spec with { PromoteEarlyBelow = 1.2, ConfirmPromotion = true });
        var waiting = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass with { PromoteEarly = true }));
        Assert.Equal(RolloutPhase.WaitingPromotion, waiting.State.Phase);
        Assert.DoesNotContain(waiting.Actions, a => a is Promote);
    }

    [Fact]
    public void The_evidence_is_carried_across_weight_changes()
    {
        var evidence = new Dictionary<string, Canary.Analyzer.Metrics.SequentialPrior> { ["errors"] = new(Canary.Judge.Sequential.CountSequenceState.Empty, null, null) };
        var run = Progressing(Spec);
        var advanced = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass with { Evidence = evidence, CountedUntil = T0.AddMinutes(5) }));
        Assert.Equal((10, T0.AddMinutes(5)), (advanced.State.CanaryWeight, advanced.State.CountedUntil));
        Assert.Same(evidence, advanced.State.Evidence);
    }

    [Fact]
    public void A_new_revision_starts_its_evidence_from_nothing()
    {
        var evidence = new Dictionary<string, Canary.Analyzer.Metrics.SequentialPrior> { ["errors"] = new(Canary.Judge.Sequential.CountSequenceState.Empty, null, null) };
        var run = Progressing(Spec);
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass with { Evidence = evidence, CountedUntil = T0.AddMinutes(5) }));
        var restarted = run.Tick(Seen(6, "r3", canary: WorkloadReadiness.Ready));
        Assert.Equal((null, (DateTimeOffset?)null), (restarted.State.Evidence, restarted.State.CountedUntil));
    }

    [Fact]
    public void The_first_interval_starts_when_the_canary_is_ready()
    {
        var run = Progressing(Spec);
        Assert.Equal(T0.AddMinutes(2), run.State.CountedUntil);
    }

    [Fact]
    public void A_marginal_verdict_holds_without_counting()
    {
        var run = Progressing(Spec);
        var marginal = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: new AnalysisOutcome(AnalysisVerdict.Marginal, 80, "p99 latency High")));
        Assert.Equal((StepVerdict.Hold, 5, 0), (marginal.Verdict, marginal.State.CanaryWeight, marginal.State.FailedChecks));
        Assert.Equal(80, marginal.State.LastScore);
    }

    [Fact]
    public void A_new_revision_in_the_middle_of_a_release_restarts_it_from_weight_zero()
    {
        var run = Progressing(Spec);
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Fail));
        Assert.Equal((10, 1), (run.State.CanaryWeight, run.State.FailedChecks));
        var restart = run.Tick(Seen(7, "r3", canary: WorkloadReadiness.Ready));
        Assert.Equal((RolloutPhase.Progressing, "r3", 0, -1, 0), (restart.State.Phase, restart.State.Revision, restart.State.CanaryWeight, restart.State.Step, restart.State.FailedChecks));
        Assert.Contains(new SetRouting(Routing.AllPrimary), restart.Actions);
        Assert.Equal("new revision r3 in the middle of the release of r2: restarting from weight 0", restart.Reason);
    }

    [Fact]
    public void A_canary_that_never_becomes_ready_is_rolled_back_at_the_progress_deadline()
    {
        var run = new Run(Spec);
        run.Tick(Seen(0, "r1"));
        run.Tick(Seen(1, "r2"));
        Assert.Equal(StepVerdict.Hold, run.Tick(Seen(5, "r2", canary: WorkloadReadiness.NotReady)).Verdict);
        var late = run.Tick(Seen(12, "r2", canary: WorkloadReadiness.NotReady));
        Assert.Equal(RolloutPhase.Failed, late.State.Phase);
        Assert.Equal("rolled back: the canary was not ready within the progress deadline (00:10:00)", late.Reason);

        var kubernetes = new Run(Spec);
        kubernetes.Tick(Seen(0, "r1"));
        kubernetes.Tick(Seen(1, "r2"));
        Assert.Equal("rolled back: the canary did not become ready: Kubernetes reports ProgressDeadlineExceeded", kubernetes.Tick(Seen(2, "r2", canary: WorkloadReadiness.Failed)).Reason);
    }

    [Fact]
    public void Suspended_rollouts_do_nothing()
    {
        var decision = RolloutStateMachine.Decide(Spec with { Suspend = true }, new RolloutState { Phase = RolloutPhase.Progressing, Revision = "r2", CanaryWeight = 25 }, Seen(5, "r3", canary: WorkloadReadiness.Ready, analysis: Fail));
        Assert.Equal((StepVerdict.Hold, 25, "r2"), (decision.Verdict, decision.State.CanaryWeight, decision.State.Revision));
        Assert.Empty(decision.Actions);
    }

    [Fact]
    public void Analyses_are_due_only_after_the_warm_up_of_each_step()
    {
        var spec = Spec with { WarmUp = TimeSpan.FromMinutes(2) };
        var state = new RolloutState { Phase = RolloutPhase.Progressing, Step = 0, CanaryWeight = 5, WeightSince = T0 };
        Assert.False(RolloutStateMachine.Plan(spec, state, T0.AddMinutes(1)).Analyse);
        Assert.True(RolloutStateMachine.Plan(spec, state, T0.AddMinutes(2)).Analyse);
        Assert.False(RolloutStateMachine.Plan(spec, state with { Step = -1 }, T0.AddMinutes(5)).Analyse);
        Assert.False(RolloutStateMachine.Plan(spec, state with { Paused = true }, T0.AddMinutes(5)).Analyse);
    }

    [Fact]
    public void The_rollout_webhook_is_called_once_before_each_analysis()
    {
        var spec = Spec with { WarmUp = TimeSpan.FromMinutes(2) };
        var state = new RolloutState { Phase = RolloutPhase.Progressing, Step = 0, CanaryWeight = 5, WeightSince = T0 };
        Assert.Equal([], RolloutStateMachine.Plan(spec, state, T0.AddMinutes(1)).WebhooksBefore);
        Assert.Equal(["rollout"], RolloutStateMachine.Plan(spec, state, T0.AddMinutes(2)).WebhooksBefore);
    }

    [Fact]
    public void The_rollout_webhook_is_never_an_action()
    {
        var run = Progressing(Spec with { StepWeights = [5, 10] });
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Fail));
        Assert.All(run.All, d => Assert.DoesNotContain(new CallWebhook("rollout"), d.Actions));
    }

    [Fact]
    public void Each_webhook_type_is_called_at_most_once_in_any_tick_of_a_release()
    {
        var run = Progressing(Spec with { StepWeights = [5, 10] });
        var plans = new List<TickPlan>();
        foreach (var minute in new[] { 5, 6, 7 })
        {
            plans.Add(RolloutStateMachine.Plan(Spec with { StepWeights = [5, 10] }, run.State, T0.AddMinutes(minute)));
            run.Tick(Seen(minute, "r2", canary: WorkloadReadiness.Ready, analysis: Pass, primaryRevision: "r1"));
        }

        run.Tick(Seen(8, "r2", primaryRevision: "r2", primary: WorkloadReadiness.Ready));
        run.Tick(Seen(9, "r2", primaryRevision: "r2", primary: WorkloadReadiness.Ready));
        var calls = run.All.Select(d => d.Actions.OfType<CallWebhook>().Select(c => c.Kind).ToList()).ToList();
        Assert.All(calls, kinds => Assert.Equal(kinds.Distinct().Count(), kinds.Count));
        Assert.Equal(["pre-rollout", "post-rollout"], calls.SelectMany(k => k));
        Assert.Equal([["rollout"], ["rollout"], []], plans.Select(p => p.WebhooksBefore.ToList()));
    }

    [Fact]
    public void Deciding_again_after_a_crash_gives_the_same_actions()
    {
        var run = Progressing(Spec);
        var state = run.State;
        var observation = Seen(5, "r2", canary: WorkloadReadiness.Ready);
        var first = RolloutStateMachine.Decide(Spec, state, observation);
        var again = RolloutStateMachine.Decide(Spec, state, observation);
        Assert.Equal(first.State, again.State);
        Assert.Equal(first.Actions, again.Actions);
        Assert.Equal(first.Reason, again.Reason);
        Assert.Contains(new SetRouting(new Routing(5)), RolloutStateMachine.Decide(Spec, state, observation).Actions);
    }

    /// <summary>A healthy release of r2 walked through every step: its last decision promotes.</summary>
    private static Run Promoted()
    {
        var run = Progressing(Spec);
        for (var minute = 3; run.State.Phase == RolloutPhase.Progressing; minute++)
        {
            run.Tick(Seen(minute, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        }

        return run;
    }

    /// <summary>A release of r2 that failed three of its four analyses: its last decision rolls back.</summary>
    private static Run RolledBack()
    {
        var run = Progressing(Spec);
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Fail));
        run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        run.Tick(Seen(7, "r2", canary: WorkloadReadiness.Ready, analysis: Fail));
        run.Tick(Seen(8, "r2", canary: WorkloadReadiness.Ready, analysis: Fail));
        return run;
    }
}
