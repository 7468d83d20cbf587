using Canary.Judge.Config;
using Canary.Judge.Results;
using Canary.Judge.Tests.Support;
using static Canary.Judge.Tests.Support.Analyses;

namespace Canary.Judge.Tests.Scoring;

public class MetricClassificationTests
{
    private static readonly MetricConfig Latency = new() { Name = "p99 latency", Group = "latency", Direction = Direction.Increase };

    [Fact]
    public void Canary_30pct_slower_is_High_with_a_reason_that_names_the_change()
    {
        var result = JudgeOne(Latency, Around(100, seed: 1), Around(130, seed: 2));
        Assert.Equal(MetricClassification.High, result.Classification);
        Assert.Matches(@"^p99 latency is (29|30|31)\.\d % higher \(98 % CI \+\d+\.\d % … \+\d+\.\d %\), a significant increase\.$", result.Reason);
        Assert.NotNull(result.Test);
        Assert.True(result.Test!.PValue < 1e-10);
    }

    [Fact]
    public void Canary_as_good_as_baseline_passes()
    {
        var result = JudgeOne(Latency, Around(100, seed: 1), Around(100, seed: 2));
        Assert.Equal(MetricClassification.Pass, result.Classification);
        Assert.Contains("no significant change", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Faster_canary_passes_a_metric_where_only_an_increase_is_bad()
    {
        var result = JudgeOne(Latency, Around(100, seed: 1), Around(70, seed: 2));
        Assert.Equal(MetricClassification.Pass, result.Classification);
        Assert.Contains("but only an increase counts", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Either_direction_flags_a_decrease_as_Low()
    {
        var metric = Latency with { Direction = Direction.Either };
        Assert.Equal(MetricClassification.Low, JudgeOne(metric, Around(100, seed: 1), Around(70, seed: 2)).Classification);
        var decrease = Latency with { Direction = Direction.Decrease };
        Assert.Equal(MetricClassification.Low, JudgeOne(decrease, Around(100, seed: 1), Around(70, seed: 2)).Classification);
        Assert.Equal(MetricClassification.Pass, JudgeOne(decrease, Around(100, seed: 1), Around(130, seed: 2)).Classification);
    }

    [Fact]
    public void Allowed_increase_lets_a_small_significant_increase_pass()
    {
        var control = Around(100, seed: 1);
        var experiment = Around(106, seed: 2);
        Assert.Equal(MetricClassification.High, JudgeOne(Latency, control, experiment).Classification);
        var lenient = Latency with { EffectSize = EffectSizeSettings.MeanRatioDefaults with { AllowedIncrease = 1.1 } };
        var result = JudgeOne(lenient, control, experiment);
        Assert.Equal(MetricClassification.Pass, result.Classification);
        Assert.Contains("within the allowed 10.0 %", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Cles_bounds_are_probabilities()
    {
        var cles = Latency with { EffectSize = EffectSizeSettings.ForMeasure(EffectSizeMeasure.Cles) with { AllowedIncrease = 0.9 } };
        var shifted = JudgeOne(cles, Around(100, seed: 1), Around(106, seed: 2));
        Assert.InRange(shifted.EffectSize.Cles!.Value, 0.6, 0.9);
        Assert.Equal(MetricClassification.Pass, shifted.Classification);
        Assert.Equal(MetricClassification.High, JudgeOne(cles, Around(100, seed: 1), Around(150, seed: 2)).Classification);
    }

    [Fact]
    public void A_large_tolerance_keeps_a_small_shift_from_being_called()
    {
        var control = Around(100, seed: 1);
        var experiment = Around(103, seed: 2);
        Assert.Equal(MetricClassification.High, JudgeOne(Latency, control, experiment).Classification);
        var tolerant = new Analyses { Settings = new JudgeSettings { Tolerance = 0.9 } }.Add(Latency, control, experiment).Judge();
        Assert.Equal(MetricClassification.Pass, tolerant.Metrics[0].Classification);
        Assert.Contains("too close to no change", tolerant.Metrics[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_points_are_removed_by_default()
    {
        double[] control = [1, 2, 3, double.NaN, 4, 5, double.PositiveInfinity];
        double[] experiment = [1, 2, 3, 4, double.NaN, 5];
        var removed = JudgeOne(Latency, control, experiment);
        Assert.Equal(5, removed.Control.Count);
        Assert.Equal(5, removed.Experiment.Count);
        Assert.Equal(MetricClassification.Pass, removed.Classification);
    }

    [Fact]
    public void Missing_points_are_replaced_by_zero_on_request()
    {
        double[] control = [1, 2, 3, double.NaN, 4, 5, double.PositiveInfinity];
        double[] experiment = [1, 2, 3, 4, double.NaN, 5];
        var replaced = JudgeOne(Latency with { NanStrategy = NanStrategy.Replace }, control, experiment);
        Assert.Equal(7, replaced.Control.Count);
        Assert.Equal(0, replaced.Control.Min);
        Assert.Equal(6, replaced.Experiment.Count);
    }

    [Fact]
    public void Outlier_removal_drops_points_beyond_the_widened_IQR_fences()
    {
        var control = Around(100, seed: 1);
        var experiment = Around(100, seed: 2).Append(1e6).ToArray();
        var kept = JudgeOne(Latency, control, experiment);
        Assert.Equal(1e6, kept.Experiment.Max);

        var removed = JudgeOne(Latency with { Outliers = new OutlierSettings { Strategy = OutlierStrategy.Remove } }, control, experiment);
        Assert.Equal(200, removed.Experiment.Count);
        Assert.True(removed.Experiment.Max < 200);
        Assert.Equal(200, removed.Control.Count);
    }

    [Fact]
    public void An_empty_side_is_NoData_or_NoDataFailure_when_data_is_required()
    {
        var noData = JudgeOne(Latency, Around(100), [double.NaN]);
        Assert.Equal(MetricClassification.NoData, noData.Classification);
        Assert.Null(noData.Test);
        Assert.Contains("no data for the canary", noData.Reason, StringComparison.Ordinal);

        var required = JudgeOne(Latency with { MustHaveData = true }, [], Around(100));
        Assert.Equal(MetricClassification.NoDataFailure, required.Classification);
        Assert.Contains("no data for the baseline", required.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Identical_data_passes_without_a_test()
    {
        var same = Around(100);
        var identical = JudgeOne(Latency, same, same.Reverse().ToArray());
        Assert.Equal(MetricClassification.Pass, identical.Classification);
        Assert.Null(identical.Test);
    }

    [Fact]
    public void One_value_shared_by_both_cohorts_passes_without_a_test()
    {
        var constant = JudgeOne(Latency, [5, 5, 5], [5, 5, 5, 5, 5]);
        Assert.Equal(MetricClassification.Pass, constant.Classification);
        Assert.Null(constant.Test);
    }

    [Fact]
    public void Two_different_constants_are_classified_the_same_way_every_time()
    {
        var results = Enumerable.Range(0, 5).Select(_ => JudgeOne(Latency, [5, 5, 5, 5, 5, 5], [7, 7, 7, 7, 7])).ToList();
        Assert.All(results, r => Assert.Equal(MetricClassification.High, r.Classification));
        Assert.All(results, r => Assert.Equal(2.0, r.Test!.Estimate));
        Assert.All(results, r => Assert.Equal(results[0].Test, r.Test));
    }

    [Fact]
    public void A_zero_control_mean_leaves_the_ratio_undefined()
    {
        Assert.Null(JudgeRiseOverZero().EffectSize.MeanRatio);
    }

    [Fact]
    public void Any_rise_over_a_zero_control_mean_counts_as_beyond_every_bound()
    {
        var result = JudgeRiseOverZero();
        Assert.Equal(MetricClassification.High, result.Classification);
        Assert.Contains("higher than a baseline mean of 0", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_statistics_describe_each_cohort()
    {
        var result = JudgeOne(Latency, [1, 2, 3, 4], [10, 20, 30]);
        Assert.Equal(new SeriesSummary(4, 2.5, 2.5, Math.Sqrt(5.0 / 3.0), 1, 4), result.Control);
        Assert.Equal(new SeriesSummary(3, 20, 20, 10, 10, 30), result.Experiment);
        Assert.Equal(1.0, result.EffectSize.Cles);
        Assert.Equal(8.0, result.EffectSize.MeanRatio);
    }

    /// <summary>An error rate of 0 in the control and of 2–3 % in the canary, whose allowed mean ratio is 5.</summary>
    private static MetricResult JudgeRiseOverZero()
    {
        var errors = new MetricConfig
        {
            Name = "error rate",
            Direction = Direction.Increase,
            EffectSize = EffectSizeSettings.MeanRatioDefaults with { AllowedIncrease = 5 },
        };
        var control = new double[100];
        var experiment = Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? 0.02 : 0.03).ToArray();
        return JudgeOne(errors, control, experiment);
    }
}
