namespace Canary.Judge.Results;

/// <summary>What the judge concluded about one metric.</summary>
public enum MetricClassification
{
    Pass,
    High,
    Low,
    NoData,
    NoDataFailure,
    Error,
}

/// <summary>What the judge concluded about the whole analysis.</summary>
public enum AnalysisClassification
{
    Pass,
    Marginal,
    Fail,
}

public static class MetricClassificationExtensions
{
    /// <summary>True for the classifications that mean "this metric had no data to judge".</summary>
    public static bool LacksData(this MetricClassification classification) =>
        classification is MetricClassification.NoData or MetricClassification.NoDataFailure;
}
