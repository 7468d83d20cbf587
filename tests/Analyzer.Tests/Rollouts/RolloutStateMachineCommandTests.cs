using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Workloads;
using static Canary.Analyzer.Rollouts.RolloutAction;
using static Canary.Analyzer.Tests.Rollouts.StateMachineSpecs;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>The state machine's gates (confirm-promotion, confirm-traffic-increase) and the commands given by hand: abort, pause, resume, skip, approve.</summary>
public sealed class RolloutStateMachineCommandTests
{
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
}
