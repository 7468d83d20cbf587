using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Simulation;

/// <summary>How one simulated release ended, and what the canary served until then.</summary>
internal sealed record RolloutRun(RolloutPhase Ended, TimeSpan Took, long CanaryRequests, long CanaryErrors)
{
    public bool RolledBack => Ended == RolloutPhase.Failed;

    public bool Promoted => Ended == RolloutPhase.Promoting;
}

/// <summary>
/// One release under one rule, tick by tick on a simulated clock: the real state machine plans and
/// decides every tick, the real analyzer (or the threshold rule's checks) reads the simulated
/// Prometheus, and the weights it sets move the simulated traffic. It ends at the promotion, the
/// rollback, or the study's longest rollout.
/// </summary>
internal sealed class RolloutSimulator(string rule, CanaryResource resource, StudySettings settings)
{
    /// <summary>Where every simulated release starts (any fixed time: the diurnal phase is drawn per rollout).</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    private readonly RenderedQuery? errorRate = rule == SimulationRules.Threshold ? Query(resource, "error-rate") : null;
    private readonly RenderedQuery? p99 = rule == SimulationRules.Threshold ? Query(resource, "p99") : null;

    /// <summary>Every query of the rule, once: one the model cannot answer stops the study (as an input error), instead of holding every analysis.</summary>
    /// <exception cref="Documents.InputException">A query of the rule's metrics is not one the simulated Prometheus answers.</exception>
    public void Check()
    {
        foreach (var (metric, query) in MetricAnalysis.Render(resource.Config!, SimulatedPrometheus.Cohorts, resource.Config!.Interval, "60s"))
        {
            foreach (var text in new[] { query.Control, query.Experiment, query.ControlExposure, query.ExperimentExposure }.OfType<string>())
            {
                try
                {
                    SimulatedPrometheus.Check(text);
                }
                catch (MetricsSourceException e)
                {
                    throw new Documents.InputException($"rule {rule}, metric \"{metric}\": {e.Message}");
                }
            }
        }
    }

    public async Task<RolloutRun> RunAsync(Scenario scenario, ulong seed, CancellationToken cancellationToken)
    {
        var prometheus = new SimulatedPrometheus(scenario, settings.Scrape, seed, Epoch, resource.Window);
        var analyzer = new RolloutAnalyzer(prometheus, concurrency: 1);
        var spec = resource.Rollout;
        var state = new RolloutState { Phase = RolloutPhase.Initialized, Revision = "v1", PrimaryRevision = "v1" };
        for (var now = Epoch; now - Epoch <= settings.MaxDuration; now += resource.Interval)
        {
            prometheus.AdvanceTo(now);
            var plan = RolloutStateMachine.Plan(spec, state, now);
            var analysis = plan.Analyse ? await AnalyzeAsync(analyzer, prometheus, now, state, cancellationToken) : null;
            var decision = RolloutStateMachine.Decide(spec, state, new Observation
            {
                Now = now,
                TargetRevision = "v2",
                Canary = WorkloadReadiness.Ready,
                Primary = WorkloadReadiness.Ready,
                PrimaryRevision = "v1",
                Analysis = analysis,
            });
            state = decision.State;
            foreach (var action in decision.Actions.OfType<RolloutAction.SetRouting>())
            {
                prometheus.Weight = action.Routing.CanaryWeight;
            }

            if (state.Phase is RolloutPhase.Failed or RolloutPhase.Promoting)
            {
                return new RolloutRun(state.Phase, now - Epoch, prometheus.CanaryRequests, prometheus.CanaryErrors);
            }
        }

        return new RolloutRun(state.Phase, settings.MaxDuration, prometheus.CanaryRequests, prometheus.CanaryErrors);
    }

    private async Task<AnalysisOutcome?> AnalyzeAsync(RolloutAnalyzer analyzer, SimulatedPrometheus prometheus, DateTimeOffset now, RolloutState state, CancellationToken cancellationToken)
    {
        if (rule == SimulationRules.Threshold)
        {
            return await ChecksAsync(prometheus, now, cancellationToken);
        }

        var analysis = await analyzer.AnalyzeAsync(resource, resource.Config!, SimulatedPrometheus.Cohorts, now, state, cancellationToken);
        // Before sequential evidence an analysis without evidence was a failed check like any other.
        return rule == SimulationRules.MannWhitneyBefore && analysis?.Outcome is { Verdict: AnalysisVerdict.Inconclusive } outcome
            ? outcome with { Verdict = AnalysisVerdict.Fail }
            : analysis?.Outcome;
    }

    /// <summary>Flagger's built-in checks on the canary alone, each over the last interval: no value is a failed check, as in Flagger.</summary>
    private async Task<AnalysisOutcome> ChecksAsync(SimulatedPrometheus prometheus, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = new AnalysisWindow(now, now, resource.Interval);
        var errors = (await prometheus.FetchAsync(errorRate!.Experiment, at, false, cancellationToken)).Values;
        var latency = (await prometheus.FetchAsync(p99!.Experiment, at, false, cancellationToken)).Values;
        var failed = new List<string>();
        if (errors is not [var e] || !double.IsFinite(e) || e >= settings.ErrorLimit)
        {
            failed.Add($"error rate {(errors is [var v] ? v.ToString("P2", System.Globalization.CultureInfo.InvariantCulture) : "no value")} (limit {settings.ErrorLimit:P2})");
        }

        if (latency is not [var l] || !double.IsFinite(l) || l >= settings.LatencyLimit)
        {
            failed.Add($"p99 {(latency is [var v] ? $"{v * 1000:0} ms" : "no value")} (limit {settings.LatencyLimit * 1000:0} ms)");
        }

        return new AnalysisOutcome(failed.Count == 0 ? AnalysisVerdict.Pass : AnalysisVerdict.Fail, null, failed.Count == 0 ? "both checks passed" : string.Join("; ", failed));
    }

    /// <summary>The threshold rule's query of one check: the rule's Canary holds the Mann–Whitney rule's metrics, error-rate and p99, over the interval.</summary>
    private static RenderedQuery Query(CanaryResource resource, string metric) =>
        MetricAnalysis.Render(resource.Config!, SimulatedPrometheus.Cohorts, resource.Config!.Interval, resource.Config.Interval)[metric];
}
