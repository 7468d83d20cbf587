using System.Globalization;
using Canary.Judge.Config;
using Canary.Judge.Results;
using Canary.Judge.Sequential;

namespace Canary.Judge.Scoring;

/// <summary>Judges one sequential metric (DESIGN, "Sequential metrics"): the e-process over its intervals, its classification and its reason.</summary>
internal static class SequentialAnalysis
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>α = 1 − confidence level, computed in decimal (0.99 → 0.01 exactly as written).</summary>
    public static double Alpha(JudgeSettings settings) => (double)(1m - (decimal)settings.ConfidenceLevel);

    public static MetricResult Judge(MetricConfig metric, MetricSeries? series, JudgeSettings settings)
    {
        var alpha = Alpha(settings);
        var side = metric.Direction switch
        {
            Direction.Increase => SequentialSide.Increase,
            Direction.Decrease => SequentialSide.Decrease,
            _ => SequentialSide.Either,
        };
        var test = new SequentialTest(alpha, side, metric.EffectSize.AllowedIncrease, metric.EffectSize.AllowedDecrease);
        return series?.Sequential switch
        {
            CountData counts => Counts(metric, test, counts),
            HistogramData histogram => Histogram(metric, test, histogram),
            _ => NoData(metric, NoDataResult(test, new SequentialTotals(0, null, null, null), new SequentialTotals(0, null, null, null), null)),
        };
    }

    private static MetricResult Counts(MetricConfig metric, SequentialTest test, CountData data)
    {
        var intervals = data.Counts;
        var control = new SequentialTotals(intervals.Count, intervals.Sum(i => i.ControlEvents), intervals.Sum(i => i.ControlExposure), null);
        var experiment = new SequentialTotals(intervals.Count, intervals.Sum(i => i.ExperimentEvents), intervals.Sum(i => i.ExperimentExposure), null);
        // Evidence stored under another test (a changed confidence level, side or allowed ratio) starts again.
        var prior = data.Prior is { } stored && (stored.Test is null || stored.Test == test) ? stored : CountSequenceState.Empty;
        var (state, evidence) = CountSequence.Run(prior, intervals, test);
        if (state.Informative == 0)
        {
            return NoData(metric, NoDataResult(test, control, experiment, null) with { CountState = state });
        }

        var result = new SequentialResult(test.Alpha, evidence, state.CrossedAt, null, state.Estimate(), state.Lower, state.Upper)
        {
            Control = control,
            Experiment = experiment,
            CountState = state,
        };
        return Outcome(metric, test, result, state.CrossedHigh, test.BoundAlpha, state.Intervals, state.CrossedEValue);
    }

    private static MetricResult Histogram(MetricConfig metric, SequentialTest test, HistogramData data)
    {
        var finite = data.Edges.Count - 1;
        var control = new SequentialTotals(data.Intervals, null, null, data.Buckets.Sum(b => b.ControlBuckets[^1]));
        var experiment = new SequentialTotals(data.Intervals, null, null, data.Buckets.Sum(b => b.ExperimentBuckets[^1]));
        var perEdge = test with { Alpha = test.Alpha / finite };
        var prior = data.Prior is { } stored && stored.Edges.Count == finite && stored.Edges.All(e => e.Test is null || e.Test == perEdge) ? stored : HistogramSequenceState.Empty(finite);
        var (state, evidence) = HistogramSequence.Run(prior, data.Buckets, test);
        if (state.Edges.All(e => e.Informative == 0))
        {
            return NoData(metric, NoDataResult(test, control, experiment, metric.Edge) with { HistogramState = state });
        }

        var named = metric.Edge is { } edge ? IndexOf(data.Edges, edge) : (int?)null;
        var reported = state.Reported(named);
        var at = state.Edges[reported];
        var result = new SequentialResult(test.Alpha, evidence, state.CrossedAt, data.Edges[reported], at.Estimate(), at.Lower, at.Upper)
        {
            Control = control,
            Experiment = experiment,
            HistogramState = state,
        };
        return Outcome(metric, test, result, state.CrossedHigh, test.BoundAlpha / finite, state.Intervals, state.CrossedEValue);
    }

    private static MetricResult Outcome(MetricConfig metric, SequentialTest test, SequentialResult result, bool high, double boundAlpha, int intervals, double? crossedEValue)
    {
        var crossed = result.CrossedAt is not null;
        var classification = !crossed ? MetricClassification.Pass : high ? MetricClassification.High : MetricClassification.Low;
        return new MetricResult(metric.Name, metric.Group, classification, metric.Critical, Reason(metric, test, result, classification, boundAlpha, intervals, crossedEValue), null,
            new EffectSizeResult(null, null) { Ratio = result.Estimate }, SeriesSummary.Empty, SeriesSummary.Empty)
        {
            Muted = metric.Muted,
            Sequential = result,
            // A critical sequential metric fails the analysis as soon as it crosses.
            FailsAnalysis = metric.Critical && crossed,
        };
    }

    private static MetricResult NoData(MetricConfig metric, SequentialResult result)
    {
        var classification = metric.MustHaveData ? MetricClassification.NoDataFailure : MetricClassification.NoData;
        return new MetricResult(metric.Name, metric.Group, classification, metric.Critical, MetricReasons.NoIntervals(metric),
            null, EffectSizeResult.None, SeriesSummary.Empty, SeriesSummary.Empty)
        {
            Muted = metric.Muted,
            Sequential = result,
            FailsAnalysis = metric.Critical,
        };
    }

    private static SequentialResult NoDataResult(SequentialTest test, SequentialTotals control, SequentialTotals experiment, string? edge) =>
        new(test.Alpha, [], null, edge, null, 0, null) { Control = control, Experiment = experiment };

    private static string Reason(MetricConfig metric, SequentialTest test, SequentialResult result, MetricClassification classification, double boundAlpha, int intervals, double? crossedEValue)
    {
        var ratio = result.Estimate is { } estimate ? $"×{Number(estimate)}" : "unknown (the baseline has no events)";
        var bounds = $"one-sided {Percent(1 - boundAlpha)} bounds ×{Number(result.Lower)} … {(result.Upper is { } upper ? "×" + Number(upper) : "∞")}";
        var at = result.Edge is { } edge ? $" above {edge}" : string.Empty;
        var looks = intervals == 1 ? "1 interval" : $"{intervals} intervals";
        if (classification == MetricClassification.Pass)
        {
            return $"{metric.Name}{at}: evidence {Number(result.EValue)} of the {Number(test.Threshold)} needed after {looks}; canary/baseline {ratio} ({bounds}).";
        }

        var way = classification == MetricClassification.High ? "higher" : "lower";
        return $"{metric.Name}{at} is {way}: the evidence reached {Number(crossedEValue ?? result.EValue)} (≥ {Number(test.Threshold)}) at interval {result.CrossedAt + 1}; canary/baseline {ratio} ({bounds}).";
    }

    /// <summary>The finite edge the metric names, compared as numbers ("0.25" is "0.250").</summary>
    private static int IndexOf(IReadOnlyList<string> edges, string edge)
    {
        var wanted = double.Parse(edge, NumberStyles.Float, Invariant);
        for (var i = 0; i < edges.Count - 1; i++)
        {
            if (double.Parse(edges[i], NumberStyles.Float, Invariant) == wanted)
            {
                return i;
            }
        }

        return 0;
    }

    private static string Number(double value) => value.ToString("G3", Invariant);

    private static string Percent(double fraction) => (fraction * 100).ToString("0.##", Invariant) + " %";
}
