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
        var (seconds, crossedSeconds) = Timed(prior.Seconds, prior.CrossedSeconds, prior.CrossedAt, prior.Intervals, state.CrossedAt, intervals.Count, data.IntervalSeconds);
        state = state with { Seconds = seconds, CrossedSeconds = crossedSeconds };
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
        return Outcome(metric, test, result, state.CrossedHigh, state.CrossedAt is { } c ? c + 1 : state.Intervals, state.CrossedEValue, state.CrossedAt is null ? state.Seconds : state.CrossedSeconds);
    }

    private static MetricResult Histogram(MetricConfig metric, SequentialTest test, HistogramData data)
    {
        var finite = data.Edges.Count - 1;
        var control = new SequentialTotals(data.Intervals, null, null, data.Buckets.Sum(b => b.ControlBuckets[^1]));
        var experiment = new SequentialTotals(data.Intervals, null, null, data.Buckets.Sum(b => b.ExperimentBuckets[^1]));
        var perEdge = test with { Alpha = test.Alpha / finite };
        var prior = data.Prior is { } stored && stored.Edges.Count == finite && stored.Edges.All(e => e.Test is null || e.Test == perEdge) ? stored : HistogramSequenceState.Empty(finite);
        var (state, evidence) = HistogramSequence.Run(prior, data.Buckets, test);
        var (seconds, crossedSeconds) = Timed(prior.Seconds, prior.CrossedSeconds, prior.CrossedAt, prior.Intervals, state.CrossedAt, data.Buckets.Count, data.IntervalSeconds);
        state = state with { Seconds = seconds, CrossedSeconds = crossedSeconds };
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
        return Outcome(metric, test, result, state.CrossedHigh, state.CrossedAt is { } c ? c + 1 : state.Intervals, state.CrossedEValue, state.CrossedAt is null ? state.Seconds : state.CrossedSeconds);
    }

    /// <summary>The time the stream covers after these intervals, and at its crossing (counted from the interval it crossed in); unknown lengths add nothing.</summary>
    private static (double Seconds, double? CrossedSeconds) Timed(double before, double? crossedBefore, int? crossedAtBefore, int intervalsBefore, int? crossedAt, int added, double? step)
    {
        var seconds = before + ((step ?? 0) * added);
        var crossed = crossedAtBefore is null && crossedAt is { } at && step is { } s ? before + (s * (at - intervalsBefore + 1)) : crossedBefore;
        return (seconds, crossed);
    }

    private static MetricResult Outcome(MetricConfig metric, SequentialTest test, SequentialResult result, bool high, int intervals, double? crossedEValue, double? seconds)
    {
        var crossed = result.CrossedAt is not null;
        var classification = !crossed ? MetricClassification.Pass : high ? MetricClassification.High : MetricClassification.Low;
        return new MetricResult(metric.Name, metric.Group, classification, metric.Critical, Reason(metric, test, result, classification, intervals, crossedEValue, seconds), null,
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

    /// <summary>
    /// "errors 2.1× the baseline (at least 1.4×), evidence 312 ≥ 100 after 7 min": the ratio, the bound
    /// that matters (the lower after an increase, the upper after a decrease, else the one on the
    /// side tested), the evidence against 1/α, and how long it took (intervals, when their length is not known).
    /// </summary>
    private static string Reason(MetricConfig metric, SequentialTest test, SequentialResult result, MetricClassification classification, int intervals, double? crossedEValue, double? seconds)
    {
        var name = result.Edge is { } edge ? $"{metric.Name} above {edge}" : metric.Name;

        var upper = result.Upper is { } u ? $"at most {Number(u)}×" : "no upper bound yet";
        var lower = $"at least {Number(result.Lower)}×";
        var bound = classification switch
        {
            MetricClassification.High => lower,
            MetricClassification.Low => upper,
            _ => test.Side switch
            {
                SequentialSide.Increase => upper,
                SequentialSide.Decrease => lower,
                _ => $"{lower}, {upper}",
            },
        };
        var crossed = classification is MetricClassification.High or MetricClassification.Low;
        var evidence = crossed ? $"evidence {Number(crossedEValue ?? result.EValue)} ≥ {Number(test.Threshold)}" : $"evidence {Number(result.EValue)} < {Number(test.Threshold)}";
        var after = seconds is > 0 and { } s ? Duration(s) : intervals == 1 ? "1 interval" : $"{intervals} intervals";
        return (result.Estimate, classification) switch
        {
            ({ } estimate, _) => $"{name} {Number(estimate)}× the baseline ({bound}), {evidence} after {after}",
            (null, MetricClassification.High) => $"{name} {lower} the baseline (which has no events), {evidence} after {after}",
            _ => $"{name}: no ratio yet (the baseline has no events), {evidence} after {after}",
        };
    }

    /// <summary>45 s, 7 min, 2.5 h.</summary>
    private static string Duration(double seconds) => seconds switch
    {
        < 60 => $"{seconds.ToString("0", Invariant)} s",
        < 3600 => $"{(seconds / 60).ToString("0.#", Invariant)} min",
        _ => $"{(seconds / 3600).ToString("0.#", Invariant)} h",
    };

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

}
