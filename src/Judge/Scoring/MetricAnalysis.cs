using Canary.Judge.Config;
using Canary.Judge.Results;
using Canary.Judge.Statistics;

namespace Canary.Judge.Scoring;

/// <summary>Judges one metric: NaN handling, outliers, descriptive statistics, the test, classification.</summary>
internal static class MetricAnalysis
{
    public static MetricResult Judge(MetricConfig metric, MetricSeries? series, JudgeSettings settings, MetricWorkspace workspace)
    {
        if (metric.Method == JudgeMethod.Sequential)
        {
            return SequentialAnalysis.Judge(metric, series, settings);
        }

        var control = Prepare(series?.Control ?? [], metric, workspace.Control(series?.Control.Length ?? 0));
        var experiment = Prepare(series?.Experiment ?? [], metric, workspace.Experiment(series?.Experiment.Length ?? 0));
        var scratch = workspace.Scratch(control.Length + experiment.Length);
        var controlSummary = Descriptive.Summarise(control, scratch);
        var experimentSummary = Descriptive.Summarise(experiment, scratch);

        if (control.IsEmpty || experiment.IsEmpty)
        {
            var classification = metric.MustHaveData ? MetricClassification.NoDataFailure : MetricClassification.NoData;
            return Result(metric, classification, MetricReasons.NoData(metric, control.IsEmpty, experiment.IsEmpty), null,
                EffectSizeResult.None, controlSummary, experimentSummary) with { FailsAnalysis = metric.Critical };
        }

        var meanRatio = controlSummary.Mean == 0 ? (double?)null : experimentSummary.Mean / controlSummary.Mean;
        if (control.SequenceEqual(experiment) || (control[0] == control[^1] && experiment[0] == experiment[^1] && control[0] == experiment[0]))
        {
            // Identical samples, or one value on both sides: nothing can differ (Kayenta passes these too).
            return Result(metric, MetricClassification.Pass, MetricReasons.Identical(metric), null,
                new EffectSizeResult(meanRatio, 0.5), controlSummary, experimentSummary);
        }

        var test = MannWhitney.Test(experiment, control, settings.ConfidenceLevel, scratch);
        var effect = new EffectSizeResult(meanRatio, test.U / ((double)experiment.Length * control.Length));
        var testResult = new TestResult(test.PValue, test.Estimate, test.Lower, test.Upper, settings.ConfidenceLevel);
        if (!double.IsFinite(test.Lower) || !double.IsFinite(test.Upper) || !double.IsFinite(controlSummary.Mean) || !double.IsFinite(experimentSummary.Mean))
        {
            return Result(metric, MetricClassification.Error, MetricReasons.Overflow(metric), testResult, effect, controlSummary, experimentSummary);
        }

        var verdict = MetricClassifier.Classify(metric, settings, test, effect, experimentSummary.Mean);
        var reason = MetricReasons.Judged(metric, settings.Tolerance, verdict, testResult, effect, controlSummary);
        return Result(metric, verdict.Classification, reason, testResult, effect, controlSummary, experimentSummary)
            with { FailsAnalysis = verdict.BeyondCritical };
    }

    /// <summary>Applies the NaN strategy, sorts, and applies the outlier strategy; returns the samples to judge.</summary>
    private static ReadOnlySpan<double> Prepare(double[] raw, MetricConfig metric, Span<double> buffer)
    {
        int count;
        if (metric.NanStrategy == NanStrategy.Replace)
        {
            SeriesCleaning.CopyReplacingNonFinite(raw, buffer);
            count = raw.Length;
        }
        else
        {
            count = SeriesCleaning.CopyFinite(raw, buffer);
        }

        var values = buffer[..count];
        values.Sort();
        return metric.Outliers.Strategy == OutlierStrategy.Remove ? IqrOutliers.Inliers(values, metric.Outliers.Factor) : values;
    }

    private static MetricResult Result(
        MetricConfig metric, MetricClassification classification, string reason, TestResult? test,
        EffectSizeResult effect, SeriesSummary control, SeriesSummary experiment) =>
        new(metric.Name, metric.Group, classification, metric.Critical, reason, test, effect, control, experiment)
        {
            Muted = metric.Muted,
        };
}
