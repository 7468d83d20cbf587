namespace Canary.Judge.Results;

/// <summary>The verdict of one analysis: the output document of the Judge contract.</summary>
public sealed record JudgeResult(
    double Score,
    AnalysisClassification Classification,
    bool Inconclusive,
    string Reason,
    IReadOnlyList<GroupResult> Groups,
    IReadOnlyList<MetricResult> Metrics);

/// <summary>A group's score; null when none of its metrics could be scored (all without data, muted or in error).</summary>
public sealed record GroupResult(string Name, double? Score);

public sealed record MetricResult(
    string Name,
    string Group,
    MetricClassification Classification,
    bool Critical,
    string Reason,
    TestResult? Test,
    EffectSizeResult EffectSize,
    SeriesSummary Control,
    SeriesSummary Experiment)
{
    /// <summary>True when this metric is critical and its result fails the whole analysis.</summary>
    public bool FailsAnalysis { get; init; }

    public bool Muted { get; init; }

    /// <summary>The sequential test's outcome (a sequential metric), else null.</summary>
    public SequentialResult? Sequential { get; init; }
}

/// <summary>
/// A sequential metric's evidence: the e-value after each interval, where it first reached 1/α,
/// the edge reported (histograms), the conditional maximum-likelihood ratio and its one-sided bounds.
/// </summary>
public sealed record SequentialResult(double Alpha, IReadOnlyList<double> Evidence, int? CrossedAt, string? Edge, double? Estimate, double Lower, double? Upper)
{
    public double EValue => Evidence.Count == 0 ? 1 : Evidence[^1];

    /// <summary>Per cohort: the intervals, and the sums of events and exposure (counts) or of observations (histograms).</summary>
    public required SequentialTotals Control { get; init; }

    public required SequentialTotals Experiment { get; init; }

    /// <summary>The stream's evidence after these intervals, to store and pass back as the next call's prior (counts).</summary>
    public Sequential.CountSequenceState? CountState { get; init; }

    /// <summary>The stream's evidence after these intervals (histograms).</summary>
    public Sequential.HistogramSequenceState? HistogramState { get; init; }
}

/// <summary>A cohort's sums over the intervals: events and exposure for counts, total for histograms (the others null).</summary>
public sealed record SequentialTotals(int Intervals, long? Events, long? Exposure, long? Total);

/// <summary>The Mann–Whitney test of experiment − control with the Hodges–Lehmann estimate and interval.</summary>
public sealed record TestResult(double PValue, double Estimate, double Lower, double Upper, double ConfidenceLevel);

/// <summary>meanRatio is null when the control mean is 0; cles is null when a side has no data.</summary>
public sealed record EffectSizeResult(double? MeanRatio, double? Cles)
{
    public static EffectSizeResult None { get; } = new(null, null);

    /// <summary>A sequential metric's effect: the conditional maximum-likelihood ratio canary/baseline (null when the baseline has no events).</summary>
    public double? Ratio { get; init; }
}

/// <summary>Descriptive statistics of one cohort's samples after NaN handling and outlier removal.</summary>
public sealed record SeriesSummary(int Count, double Mean, double Median, double StdDev, double Min, double Max)
{
    public static SeriesSummary Empty { get; } = new(0, 0, 0, 0, 0, 0);
}
