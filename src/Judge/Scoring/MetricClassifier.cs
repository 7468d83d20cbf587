using Canary.Judge.Config;
using Canary.Judge.Results;
using Canary.Judge.Statistics;

namespace Canary.Judge.Scoring;

/// <summary>The classification of a tested metric, whether it went past its critical bound, and whether the rank test decided because the interval could not (ties).</summary>
internal readonly record struct MetricVerdict(MetricClassification Classification, bool BeyondCritical, bool BeyondAllowed, bool ByRanks = false);

internal static class MetricClassifier
{
    /// <summary>
    /// High when the whole interval lies above tolerance·|estimate| and the effect size exceeds the
    /// allowed increase; Low symmetrically; otherwise Pass (Kayenta, MannWhitneyClassifier). When the
    /// rank test rejects but the Hodges–Lehmann interval touches or straddles 0 (most values tied, e.g.
    /// error rates that are mostly 0, where estimate and interval are [0, 0]), the shift model does not
    /// hold and the tolerance (a fraction of the estimate) cannot weigh it: the direction of the rank
    /// effect decides (P(canary &gt; baseline) above or below ½), still subject to the effect-size gates.
    /// </summary>
    public static MetricVerdict Classify(MetricConfig metric, JudgeSettings settings, MannWhitneyResult test, EffectSizeResult effect, double experimentMean)
    {
        var bound = settings.Tolerance * Math.Abs(test.Estimate);
        var sizes = metric.EffectSize;
        var higher = test.Lower > bound;
        var lower = test.Upper < -bound;
        // The interval touches or straddles 0 while the rank test rejects: the ranks decide, and the tolerance (which only weighs an interval clear of 0) cannot pass it.
        var byRanks = !(test.Lower > 0) && !(test.Upper < 0) && test.PValue < 1 - settings.ConfidenceLevel && effect.Cles is { } cles && cles != 0.5;
        if (byRanks)
        {
            (higher, lower) = (effect.Cles > 0.5, effect.Cles < 0.5);
        }

        if (higher && metric.Direction != Direction.Decrease)
        {
            var allowed = Exceeds(sizes.Measure, effect, experimentMean, sizes.AllowedIncrease, increase: true);
            var critical = metric.Critical && allowed && Exceeds(sizes.Measure, effect, experimentMean, sizes.CriticalIncrease, increase: true);
            return new MetricVerdict(allowed ? MetricClassification.High : MetricClassification.Pass, critical, allowed, byRanks);
        }

        if (lower && metric.Direction != Direction.Increase)
        {
            var allowed = Exceeds(sizes.Measure, effect, experimentMean, sizes.AllowedDecrease, increase: false);
            var critical = metric.Critical && allowed && Exceeds(sizes.Measure, effect, experimentMean, sizes.CriticalDecrease, increase: false);
            return new MetricVerdict(allowed ? MetricClassification.Low : MetricClassification.Pass, critical, allowed, byRanks);
        }

        return new MetricVerdict(MetricClassification.Pass, false, false, byRanks);
    }

    /// <summary>
    /// Whether the effect size is strictly beyond a bound. A control mean of 0 leaves the mean ratio
    /// undefined: any positive experiment mean then exceeds every increase bound, any negative one every decrease bound.
    /// </summary>
    public static bool Exceeds(EffectSizeMeasure measure, EffectSizeResult effect, double experimentMean, double bound, bool increase)
    {
        var size = measure == EffectSizeMeasure.Cles ? effect.Cles : effect.MeanRatio;
        if (size is not { } value)
        {
            return increase ? experimentMean > 0 : experimentMean < 0;
        }

        return increase ? value > bound : value < bound;
    }
}
