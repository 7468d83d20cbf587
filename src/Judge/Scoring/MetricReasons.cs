using System.Globalization;
using Canary.Judge.Config;
using Canary.Judge.Results;

namespace Canary.Judge.Scoring;

/// <summary>One sentence per metric that a release engineer can act on.</summary>
internal static class MetricReasons
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string NoData(MetricConfig metric, bool controlEmpty, bool experimentEmpty)
    {
        var which = controlEmpty && experimentEmpty ? "either cohort" : controlEmpty ? "the baseline" : "the canary";
        var consequence = metric.Critical ? "; it is critical, so the analysis fails"
            : metric.MustHaveData ? "; it must have data, so it counts as a failure" : string.Empty;
        return $"{metric.Name} has no data for {which}{consequence}.";
    }

    /// <summary>A sequential metric without an interval that has exposure in both cohorts.</summary>
    public static string NoIntervals(MetricConfig metric)
    {
        var consequence = metric.Critical ? "; it is critical, so the analysis fails"
            : metric.MustHaveData ? "; it must have data, so it counts as a failure" : string.Empty;
        return $"{metric.Name} has no interval with exposure in both cohorts{consequence}.";
    }

    public static string Identical(MetricConfig metric) => $"{metric.Name} is identical in both cohorts.";

    public static string Overflow(MetricConfig metric) =>
        $"{metric.Name} could not be judged: its values are too large to subtract or average in double precision.";

    public static string Judged(MetricConfig metric, double tolerance, MetricVerdict verdict, TestResult test, EffectSizeResult effect, SeriesSummary control)
    {
        var interval = Interval(test, control.Mean);
        var confidence = Percent(test.ConfidenceLevel, signed: false, decimals: 0);
        // The interval lies wholly above 0 (up), wholly below it, or straddles it (no significant change) — unless the ranks decided.
        var up = verdict.ByRanks ? effect.Cles > 0.5 : test.Lower > 0;
        if (!verdict.ByRanks && !up && !(test.Upper < 0))
        {
            return $"{metric.Name} shows no significant change ({confidence} CI {interval}).";
        }

        var change = Change(effect, control.Mean, up);
        var head = verdict.ByRanks
            ? $"{metric.Name} is {change} by rank (p = {test.PValue.ToString("G2", Invariant)}, P(canary > baseline) = {Number(effect.Cles ?? 0.5)}; the {confidence} CI {interval} does not show the shift, as when most values are tied)"
            : $"{metric.Name} is {change} ({confidence} CI {interval})";
        if (verdict.Classification is MetricClassification.High or MetricClassification.Low)
        {
            return $"{head}, {Beyond(metric.EffectSize, effect, up)}{(verdict.BeyondCritical ? ", beyond its critical bound" : string.Empty)}.";
        }

        if (up ? metric.Direction == Direction.Decrease : metric.Direction == Direction.Increase)
        {
            return $"{head}, but only {(up ? "a decrease" : "an increase")} counts for this metric.";
        }

        var bound = tolerance * Math.Abs(test.Estimate);
        if (!verdict.ByRanks && (up ? test.Lower <= bound : test.Upper >= -bound))
        {
            return $"{head}, too close to no change to call at a tolerance of {Percent(tolerance, signed: false, decimals: 0)} of the estimate.";
        }

        return $"{head}, within {Allowed(metric.EffectSize, up)}.";
    }

    private static string Change(EffectSizeResult effect, double controlMean, bool up)
    {
        if (effect.MeanRatio is { } ratio)
        {
            var pct = Percent(Math.Abs(ratio - 1), signed: false, decimals: 1);
            return $"{pct} {(up ? "higher" : "lower")}";
        }

        return $"{(up ? "higher" : "lower")} than a baseline mean of {Number(controlMean)}";
    }

    private static string Interval(TestResult test, double controlMean) => controlMean != 0
        ? $"{Percent(test.Lower / Math.Abs(controlMean), signed: true, decimals: 1)} … {Percent(test.Upper / Math.Abs(controlMean), signed: true, decimals: 1)}"
        : $"{Signed(test.Lower)} … {Signed(test.Upper)}";

    private static string Beyond(EffectSizeSettings sizes, EffectSizeResult effect, bool up)
    {
        var bound = up ? sizes.AllowedIncrease : sizes.AllowedDecrease;
        if (sizes.Measure == EffectSizeMeasure.Cles)
        {
            return $"P(canary > baseline) = {Number(effect.Cles ?? 0.5)}, {(up ? "above" : "below")} the allowed {Number(bound)}";
        }

        return bound == 1.0
            ? $"a significant {(up ? "increase" : "decrease")}"
            : $"{(up ? "above" : "beyond")} the allowed {Percent(Math.Abs(bound - 1), signed: false, decimals: 1)}{(up ? string.Empty : " decrease")}";
    }

    private static string Allowed(EffectSizeSettings sizes, bool up)
    {
        var bound = up ? sizes.AllowedIncrease : sizes.AllowedDecrease;
        return sizes.Measure == EffectSizeMeasure.Cles
            ? $"the allowed P(canary > baseline) of {Number(bound)}"
            : $"the allowed {Percent(Math.Abs(bound - 1), signed: false, decimals: 1)}{(up ? string.Empty : " decrease")}";
    }

    private static string Percent(double fraction, bool signed, int decimals)
    {
        var text = (fraction * 100).ToString("F" + decimals.ToString(Invariant), Invariant);
        return (signed && fraction >= 0 ? "+" : string.Empty) + text + " %";
    }

    private static string Signed(double value) => (value >= 0 ? "+" : string.Empty) + Number(value);

    private static string Number(double value) => value.ToString("G4", Invariant);
}
