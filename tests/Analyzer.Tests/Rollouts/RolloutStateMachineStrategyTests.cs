using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using static Canary.Analyzer.Rollouts.RolloutAction;
using static Canary.Analyzer.Tests.Rollouts.StateMachineSpecs;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>The state machine's other kinds of release: blue/green, A/B tests, mirrored traffic, and dry runs.</summary>
public sealed class RolloutStateMachineStrategyTests
{
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

    /// <summary>A blue/green release of one iteration whose traffic is mirrored to the canary.</summary>
    private static RolloutSpec MirroredBlueGreen => Spec with { Strategy = RolloutStrategy.BlueGreen, Iterations = 1, Mirror = true };
}
