using Canary.Analyzer.Rollouts;
using Prometheus;

namespace Canary.Analyzer.Serving;

/// <summary>canary's own metrics on /metrics (prometheus-net): per rollout weight, phase, last score; analyses by verdict and their duration; failed ticks.</summary>
internal static class RolloutMetrics
{
    private static readonly Gauge Weight = Prometheus.Metrics.CreateGauge("canary_rollout_canary_weight", "The canary's share of traffic, in percent.", "rollout");
    private static readonly Gauge Phase = Prometheus.Metrics.CreateGauge("canary_rollout_phase", "1 for the rollout's current phase, 0 for the others.", "rollout", "phase");
    private static readonly Gauge Score = Prometheus.Metrics.CreateGauge("canary_rollout_last_score", "The score of the rollout's last analysis (0-100).", "rollout");
    private static readonly Counter Analyses = Prometheus.Metrics.CreateCounter("canary_analyses_total", "Analyses run, by verdict (Pass, Marginal, Fail, Inconclusive).", "rollout", "verdict");
    private static readonly Histogram Duration = Prometheus.Metrics.CreateHistogram("canary_tick_duration_seconds", "Time to run one rollout tick, analysis included.", new HistogramConfiguration
    {
        LabelNames = ["rollout"],
        Buckets = Histogram.ExponentialBuckets(0.005, 2, 14),
    });

    private static readonly Histogram AnalysisDuration = Prometheus.Metrics.CreateHistogram("canary_analysis_duration_seconds", "Time to fetch and judge one analysis.", new HistogramConfiguration
    {
        LabelNames = ["rollout"],
        Buckets = Histogram.ExponentialBuckets(0.005, 2, 14),
    });

    private static readonly Counter SourceErrors = Prometheus.Metrics.CreateCounter("canary_metrics_source_errors_total", "Analyses left without evidence by a metrics source failure.", "rollout");
    private static readonly Counter TickErrors = Prometheus.Metrics.CreateCounter("canary_tick_errors_total", "Ticks that failed before a decision was stored.", "rollout");

    public static void Record(string rollout, TickResult tick, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(tick);
        var state = tick.Decision.State;
        Weight.WithLabels(rollout).Set(state.CanaryWeight);
        foreach (var phase in Enum.GetNames<RolloutPhase>())
        {
            Phase.WithLabels(rollout, phase).Set(phase == state.Phase.ToString() ? 1 : 0);
        }

        if (state.LastScore is { } score)
        {
            Score.WithLabels(rollout).Set(score);
        }

        if (tick.Analysis is { } analysis)
        {
            Analyses.WithLabels(rollout, analysis.Outcome.Verdict.ToString()).Inc();
            AnalysisDuration.WithLabels(rollout).Observe(tick.AnalysisDuration.TotalSeconds);
            if (analysis.Outcome.Reason.StartsWith("the metrics source failed", StringComparison.Ordinal))
            {
                SourceErrors.WithLabels(rollout).Inc();
            }
        }

        Duration.WithLabels(rollout).Observe(duration.TotalSeconds);
    }

    public static void Failed(string rollout) => TickErrors.WithLabels(rollout).Inc();
}
