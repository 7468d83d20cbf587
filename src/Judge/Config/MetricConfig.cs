namespace Canary.Judge.Config;

/// <summary>How one metric is judged.</summary>
public sealed record MetricConfig
{
    public required string Name { get; init; }

    public string Group { get; init; } = "default";

    public Direction Direction { get; init; } = Direction.Either;

    /// <summary>A critical metric that fails beyond its critical bound (or has no data) scores the whole analysis 0.</summary>
    public bool Critical { get; init; }

    /// <summary>No data for this metric is a failure (NoDataFailure) rather than NoData.</summary>
    public bool MustHaveData { get; init; }

    /// <summary>A muted metric is judged and reported but never counts toward the score.</summary>
    public bool Muted { get; init; }

    public NanStrategy NanStrategy { get; init; } = NanStrategy.Remove;

    public OutlierSettings Outliers { get; init; } = new();

    public EffectSizeSettings EffectSize { get; init; } = EffectSizeSettings.MeanRatioDefaults;

    /// <summary>Mann–Whitney on samples (the default, for gauges), or the anytime-valid sequential test on per-interval counts or histograms.</summary>
    public JudgeMethod Method { get; init; } = JudgeMethod.MannWhitney;

    /// <summary>A sequential histogram metric's reported edge (an `le` of its data), or null for the edge with the most evidence.</summary>
    public string? Edge { get; init; }
}

/// <summary>How a metric is tested.</summary>
public enum JudgeMethod
{
    MannWhitney,
    Sequential,
}

/// <summary>Which change of a metric is bad.</summary>
public enum Direction
{
    Increase,
    Decrease,
    Either,
}

/// <summary>What happens to missing and non-finite points.</summary>
public enum NanStrategy
{
    Remove,
    Replace,
}

public enum OutlierStrategy
{
    Keep,
    Remove,
}

public sealed record OutlierSettings
{
    public OutlierStrategy Strategy { get; init; } = OutlierStrategy.Keep;

    /// <summary>Multiple of the interquartile range beyond the quartiles that counts as an outlier.</summary>
    public double Factor { get; init; } = 3.0;
}
