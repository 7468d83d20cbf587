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
}

/// <summary>The Mann–Whitney test of experiment − control with the Hodges–Lehmann estimate and interval.</summary>
public sealed record TestResult(double PValue, double Estimate, double Lower, double Upper, double ConfidenceLevel);

/// <summary>meanRatio is null when the control mean is 0; cles is null when a side has no data.</summary>
public sealed record EffectSizeResult(double? MeanRatio, double? Cles)
{
    public static EffectSizeResult None { get; } = new(null, null);
}

/// <summary>Descriptive statistics of one cohort's samples after NaN handling and outlier removal.</summary>
public sealed record SeriesSummary(int Count, double Mean, double Median, double StdDev, double Min, double Max)
{
    public static SeriesSummary Empty { get; } = new(0, 0, 0, 0, 0, 0);
}
