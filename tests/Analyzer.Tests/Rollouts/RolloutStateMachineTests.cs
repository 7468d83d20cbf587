using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using static Canary.Analyzer.Rollouts.RolloutAction;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>The rollout's rules, decided without I/O: a tick is (spec, state, observation) → decision.</summary>
public sealed class RolloutStateMachineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly RolloutSpec Spec = new() { StepWeights = [5, 10, 25, 50], Threshold = 3, ProgressDeadline = TimeSpan.FromMinutes(10) };
    private static readonly AnalysisOutcome Pass = new(AnalysisVerdict.Pass, 100, "every metric passed");
    private static readonly AnalysisOutcome Fail = new(AnalysisVerdict.Fail, 40, "error rate High");
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
        Assert.StartsWith("analysis inconclusive (no evidence, never a pass): Prometheus at", hold.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_evidence_counts_as_a_failed_check_rolling_back_at_the_threshold()
    {
        var run = Progressing(Spec with { StepWeights = [50] });
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        var rollback = run.Tick(Seen(7, "r2", canary: WorkloadReadiness.Ready, analysis: NoEvidence));
        Assert.Equal(RolloutPhase.Failed, rollback.State.Phase);
        Assert.Contains("3 of 3 failed checks", rollback.Reason, StringComparison.Ordinal);
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
    public void The_confirm_promotion_gate_holds_until_it_opens_or_someone_approves()
    {
        var spec = Spec with { StepWeights = [50], ConfirmPromotion = true };
        var run = Progressing(spec);
        var waiting = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        Assert.Equal(RolloutPhase.WaitingPromotion, waiting.State.Phase);
        Assert.DoesNotContain(waiting.Actions, a => a is Promote);
        Assert.Equal(RolloutPhase.WaitingPromotion, run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Pass, promotionGate: false)).State.Phase);
        var approved = run.Tick(Seen(7, "r2", canary: WorkloadReadiness.Ready, commands: [RolloutCommand.Approve]));
        Assert.Equal(RolloutPhase.Promoting, approved.State.Phase);
        Assert.Equal("approved: promoting revision r2", approved.Reason);

        var gated = Progressing(spec);
        gated.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        Assert.Equal(RolloutPhase.Promoting, gated.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, promotionGate: true)).State.Phase);

        // Failures while waiting still count.
        var failing = Progressing(spec with { Threshold = 1 });
        failing.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        Assert.Equal(RolloutPhase.Failed, failing.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Fail)).State.Phase);
    }

    [Fact]
    public void The_confirm_traffic_increase_gate_holds_each_increase()
    {
        var run = Progressing(Spec with { ConfirmTrafficIncrease = true });
        var held = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass, trafficGate: false));
        Assert.Equal((StepVerdict.Hold, 5), (held.Verdict, held.State.CanaryWeight));
        Assert.Equal(10, run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Pass, trafficGate: true)).State.CanaryWeight);
    }

    [Fact]
    public void An_abort_by_hand_rolls_back()
    {
        var aborted = Progressing(Spec).Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, commands: [RolloutCommand.Abort]));
        Assert.Equal(("rolled back: aborted by hand", RolloutPhase.Failed), (aborted.Reason, aborted.State.Phase));
    }

    [Fact]
    public void A_pause_by_hand_holds_the_weight_until_a_resume()
    {
        var run = Progressing(Spec);
        var paused = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass, commands: [RolloutCommand.Pause]));
        Assert.Equal((StepVerdict.Hold, 5), (paused.Verdict, paused.State.CanaryWeight));
        Assert.Empty(paused.Actions);
        Assert.Equal(5, run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Pass)).State.CanaryWeight);
        Assert.Equal(10, run.Tick(Seen(7, "r2", canary: WorkloadReadiness.Ready, analysis: Pass, commands: [RolloutCommand.Resume])).State.CanaryWeight);
    }

    [Fact]
    public void A_skip_by_hand_promotes_at_once()
    {
        var skipped = Progressing(Spec).Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, commands: [RolloutCommand.Skip]));
        Assert.Equal(RolloutPhase.Promoting, skipped.State.Phase);
        Assert.Equal("analysis skipped by hand: promoting revision r2", skipped.Reason);
    }

    [Fact]
    public void A_dry_run_decides_but_never_moves_traffic_or_promotes()
    {
        var run = Progressing(Spec with { DryRun = true, StepWeights = [10, 20] });
        var decisions = new List<Decision> { run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass)), run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Pass)) };
        Assert.All(run.All, d => Assert.DoesNotContain(d.Actions, a => a is Promote || a is SetRouting { Routing.CanaryWeight: > 0 }));
        Assert.Equal(RolloutPhase.Succeeded, run.State.Phase);
        Assert.Equal("r1", run.State.PrimaryRevision);
        Assert.Contains("dry run", decisions[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Suspended_rollouts_do_nothing()
    {
        var decision = RolloutStateMachine.Decide(Spec with { Suspend = true }, new RolloutState { Phase = RolloutPhase.Progressing, Revision = "r2", CanaryWeight = 25 }, Seen(5, "r3", canary: WorkloadReadiness.Ready, analysis: Fail));
        Assert.Equal((StepVerdict.Hold, 25, "r2"), (decision.Verdict, decision.State.CanaryWeight, decision.State.Revision));
        Assert.Empty(decision.Actions);
    }

    [Fact]
    public void Blue_green_analyses_without_traffic_then_switches_all_at_once()
    {
        var spec = Spec with { Strategy = RolloutStrategy.BlueGreen, Iterations = 2 };
        var run = Progressing(spec);
        Assert.Equal(0, run.State.CanaryWeight);
        run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        var promote = run.Tick(Seen(6, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        Assert.Equal(RolloutPhase.Promoting, promote.State.Phase);
        Assert.Equal([new SetRouting(new Routing(100)), new Promote("r2")], promote.Actions);
    }

    [Fact]
    public void AB_tests_send_matching_requests_to_the_canary_for_the_iterations()
    {
        var match = new RouteMatch("x-canary", "insider");
        var run = Progressing(Spec with { Strategy = RolloutStrategy.AbTest, Iterations = 1, Match = match });
        Assert.Contains(new SetRouting(new Routing(0, match)), run.Last.Actions);
        Assert.Equal(RolloutPhase.Promoting, run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass)).State.Phase);
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
    public void Gates_are_asked_only_on_ticks_whose_decision_they_can_change()
    {
        var spec = Spec with { StepWeights = [5, 10], ConfirmPromotion = true, ConfirmTrafficIncrease = true };
        var first = new RolloutState { Phase = RolloutPhase.Progressing, Step = 0, CanaryWeight = 5, WeightSince = T0 };
        var last = first with { Step = 1, CanaryWeight = 10 };
        Assert.Equal((false, true), Asked(RolloutStateMachine.Plan(spec, first, T0)));
        Assert.Equal((true, false), Asked(RolloutStateMachine.Plan(spec, last, T0)));
        Assert.Equal((true, false), Asked(RolloutStateMachine.Plan(spec, last with { Phase = RolloutPhase.WaitingPromotion }, T0)));
        Assert.Equal((false, false), Asked(RolloutStateMachine.Plan(spec, last with { Paused = true }, T0)));
        Assert.Equal((false, false), Asked(RolloutStateMachine.Plan(spec, first with { Phase = RolloutPhase.Succeeded }, T0)));
        static (bool Promotion, bool Traffic) Asked(TickPlan plan) => (plan.AskPromotionGate, plan.AskTrafficGate);
    }

    [Fact]
    public void Mirroring_is_decided_while_the_canary_is_analysed_without_weight()
    {
        var run = Progressing(MirroredBlueGreen);
        Assert.Contains(new SetRouting(new Routing(0, Mirror: true)), run.Last.Actions);
    }

    [Fact]
    public void Mirroring_ends_with_the_release()
    {
        var run = Progressing(MirroredBlueGreen);
        var promote = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        Assert.DoesNotContain(promote.Actions, a => a is SetRouting { Routing.Mirror: true });
    }

    [Fact]
    public void Without_mirroring_asked_for_no_traffic_is_mirrored()
    {
        var off = Progressing(MirroredBlueGreen with { Mirror = false });
        Assert.DoesNotContain(off.All.SelectMany(d => d.Actions), a => a is SetRouting { Routing.Mirror: true });
    }

    [Fact]
    public void Mirroring_goes_on_while_the_release_waits_for_promotion()
    {
        var waiting = Progressing(MirroredBlueGreen with { ConfirmPromotion = true }).Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass, promotionGate: false));
        Assert.Equal(RolloutPhase.WaitingPromotion, waiting.State.Phase);
        Assert.Contains(new SetRouting(new Routing(0, Mirror: true)), waiting.Actions);
    }

    [Fact]
    public void Mirroring_never_happens_in_a_dry_run()
    {
        var dry = Progressing(MirroredBlueGreen with { ConfirmPromotion = true, DryRun = true });
        Assert.DoesNotContain(dry.All.SelectMany(d => d.Actions), a => a is SetRouting { Routing.Mirror: true });
    }

    [Fact]
    public void A_skip_asks_the_confirm_promotion_gate_without_an_analysis()
    {
        var spec = Spec with { ConfirmPromotion = true };
        var run = Progressing(spec);
        var plan = RolloutStateMachine.Plan(spec, run.State, T0.AddMinutes(5), [RolloutCommand.Skip]);
        Assert.Equal((false, true), (plan.Analyse, plan.AskPromotionGate));
    }

    [Fact]
    public void A_skip_promotes_at_once_when_the_confirm_promotion_gate_is_open()
    {
        var run = Progressing(Spec with { ConfirmPromotion = true });
        Assert.Equal(RolloutPhase.Promoting, run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, commands: [RolloutCommand.Skip], promotionGate: true)).State.Phase);
    }

    [Fact]
    public void A_skip_before_the_first_step_with_the_gate_closed_waits_for_the_gate_without_analyses()
    {
        var spec = Spec with { ConfirmPromotion = true };
        var run = new Run(spec);
        run.Tick(Seen(0, "r1"));
        run.Tick(Seen(1, "r2"));
        Assert.Equal(RolloutPhase.WaitingPromotion, run.Tick(Seen(2, "r2", canary: WorkloadReadiness.Ready, commands: [RolloutCommand.Skip], promotionGate: false)).State.Phase);
        var plan = RolloutStateMachine.Plan(spec, run.State, T0.AddMinutes(3));
        Assert.Equal((false, true), (plan.Analyse, plan.AskPromotionGate));
        var still = run.Tick(Seen(3, "r2", canary: WorkloadReadiness.Ready, promotionGate: false));
        Assert.Equal((RolloutPhase.WaitingPromotion, -1, "analysis skipped; waiting for the confirm-promotion gate (or an approval)"), (still.State.Phase, still.State.Step, still.Reason));
        Assert.Equal(RolloutPhase.Promoting, run.Tick(Seen(4, "r2", canary: WorkloadReadiness.Ready, promotionGate: true)).State.Phase);
    }

    [Fact]
    public void A_resume_in_the_same_tick_lets_the_analysis_run_asking_the_gate()
    {
        var spec = Spec with { ConfirmPromotion = true, StepWeights = [5] };
        var state = new RolloutState { Phase = RolloutPhase.Progressing, Step = 0, CanaryWeight = 5, WeightSince = T0, Paused = true };
        Assert.Equal(TickPlan.Nothing, RolloutStateMachine.Plan(spec, state, T0.AddMinutes(1)));
        var resumed = RolloutStateMachine.Plan(spec, state, T0.AddMinutes(1), [RolloutCommand.Resume]);
        Assert.Equal((true, true), (resumed.Analyse, resumed.AskPromotionGate));
    }

    [Fact]
    public void A_pause_in_the_same_tick_plans_nothing()
    {
        var spec = Spec with { ConfirmPromotion = true, StepWeights = [5] };
        var state = new RolloutState { Phase = RolloutPhase.Progressing, Step = 0, CanaryWeight = 5, WeightSince = T0 };
        Assert.Equal(TickPlan.Nothing, RolloutStateMachine.Plan(spec, state, T0.AddMinutes(1), [RolloutCommand.Pause]));
    }

    [Fact]
    public void A_dry_run_expects_no_weight_on_the_canary()
    {
        var spec = Spec with { DryRun = true, StepWeights = [10] };
        var run = Progressing(spec);
        Assert.Equal(0, RolloutStateMachine.ExpectedWeight(spec, run.State));
        Assert.Equal(10, RolloutStateMachine.ExpectedWeight(spec with { DryRun = false }, run.State));
    }

    [Fact]
    public void A_dry_run_says_in_its_reason_what_it_would_have_done()
    {
        var run = Progressing(Spec with { DryRun = true, StepWeights = [10] });
        var done = run.Tick(Seen(5, "r2", canary: WorkloadReadiness.Ready, analysis: Pass));
        Assert.Equal("dry run (no traffic moved): analysis passed (score 100) at the last step (10 %): revision r2 would be promoted now", done.Reason);
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

    /// <summary>A blue/green release of one iteration whose traffic is mirrored to the canary.</summary>
    private static RolloutSpec MirroredBlueGreen => Spec with { Strategy = RolloutStrategy.BlueGreen, Iterations = 1, Mirror = true };

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

    /// <summary>A release of r2 over a primary on r1, at its first step (5 %).</summary>
    private static Run Progressing(RolloutSpec spec)
    {
        var run = new Run(spec);
        run.Tick(Seen(0, "r1"));
        run.Tick(Seen(1, "r2"));
        run.Tick(Seen(2, "r2", canary: WorkloadReadiness.Ready));
        return run;
    }

    private static Observation Seen(
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

    private sealed class Run(RolloutSpec spec)
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
