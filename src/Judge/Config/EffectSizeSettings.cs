namespace Canary.Judge.Config;

public enum EffectSizeMeasure
{
    /// <summary>mean(experiment) / mean(control); bounds are ratios (1.1 allows a 10 % increase).</summary>
    MeanRatio,

    /// <summary>Common-language effect size P(experiment &gt; control) + ½·P(equal); bounds are probabilities.</summary>
    Cles,
}

/// <summary>
/// How large a statistically significant change must be before it counts. Allowed bounds gate
/// High/Low; critical bounds decide when a critical metric fails the whole analysis.
/// </summary>
public sealed record EffectSizeSettings
{
    public static EffectSizeSettings MeanRatioDefaults { get; } = ForMeasure(EffectSizeMeasure.MeanRatio);

    public EffectSizeMeasure Measure { get; init; } = EffectSizeMeasure.MeanRatio;

    public double AllowedIncrease { get; init; } = 1.0;

    public double AllowedDecrease { get; init; } = 1.0;

    public double CriticalIncrease { get; init; } = 1.0;

    public double CriticalDecrease { get; init; } = 1.0;

    /// <summary>The neutral value of a measure: every bound defaults to it (1 for a ratio, ½ for a probability).</summary>
    public static double Neutral(EffectSizeMeasure measure) => measure == EffectSizeMeasure.Cles ? 0.5 : 1.0;

    public static EffectSizeSettings ForMeasure(EffectSizeMeasure measure)
    {
        var neutral = Neutral(measure);
        return new EffectSizeSettings
        {
            Measure = measure,
            AllowedIncrease = neutral,
            AllowedDecrease = neutral,
            CriticalIncrease = neutral,
            CriticalDecrease = neutral,
        };
    }
}
