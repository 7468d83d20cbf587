using Canary.Judge.Config;
using Canary.Judge.Results;
using Canary.Judge.Tests.Support;
using static Canary.Judge.Tests.Support.Analyses;

namespace Canary.Judge.Tests.Scoring;

public class AnalysisScoringTests
{
    private static readonly double[] Baseline = Around(100, seed: 1);
    private static readonly double[] Same = Around(100, seed: 2);
    private static readonly double[] Worse = Around(140, seed: 3);

    private static MetricConfig Metric(string name, string group = "default") =>
        new() { Name = name, Group = group, Direction = Direction.Increase };

    [Fact]
    public void All_metrics_passing_is_a_pass_scoring_100()
    {
        var result = new Analyses().Add(Metric("a"), Baseline, Same).Add(Metric("b"), Baseline, Same).Judge();
        Assert.Equal(100, result.Score);
        Assert.Equal(AnalysisClassification.Pass, result.Classification);
        Assert.False(result.Inconclusive);
        Assert.Equal("Score 100 is at or above the pass threshold 95; all 2 metrics with data passed.", result.Reason);
    }

    [Fact]
    public void Group_score_is_the_share_of_passing_metrics()
    {
        var result = JudgeTwoWeightedGroups();
        Assert.Equal([new GroupResult("latency", 50), new GroupResult("errors", 100)], result.Groups);
    }

    [Fact]
    public void Weights_combine_the_group_scores_into_the_score()
    {
        var result = JudgeTwoWeightedGroups();
        Assert.Equal(70, result.Score); // 0.6·50 + 0.4·100
        Assert.Equal(AnalysisClassification.Fail, result.Classification);
    }

    [Fact]
    public void The_reason_names_each_failed_metric_with_its_classification()
    {
        var result = JudgeTwoWeightedGroups();
        Assert.Contains("1 of 3 metrics failed: p99 (High)", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Groups_without_a_weight_share_what_is_left_of_100_equally()
    {
        var analyses = new Analyses()
            .Add(Metric("a", "weighted"), Baseline, Worse)
            .Add(Metric("b", "free1"), Baseline, Same)
            .Add(Metric("c", "free2"), Baseline, Same);
        analyses.Weights["weighted"] = 20;
        Assert.Equal(80, analyses.Judge().Score); // 20·0 + 40·100 + 40·100
    }

    [Fact]
    public void Marginal_lies_between_the_thresholds()
    {
        var analyses = new Analyses { Thresholds = new ScoreThresholds { Pass = 90, Marginal = 60 } };
        for (var i = 0; i < 4; i++)
        {
            analyses.Add(Metric($"ok{i}"), Baseline, Same);
        }

        var result = analyses.Add(Metric("bad"), Baseline, Worse).Judge();
        Assert.Equal(80, result.Score);
        Assert.Equal(AnalysisClassification.Marginal, result.Classification);
    }

    [Fact]
    public void A_critical_metric_beyond_its_critical_bound_scores_the_analysis_zero()
    {
        var critical = Metric("errors") with { Critical = true };
        var result = new Analyses().Add(Metric("a"), Baseline, Same).Add(Metric("b"), Baseline, Same)
            .Add(critical, Baseline, Worse).Judge();
        Assert.Equal(0, result.Score);
        Assert.Equal(AnalysisClassification.Fail, result.Classification);
        Assert.StartsWith("Critical metric errors failed: errors is ", result.Reason, StringComparison.Ordinal);
        Assert.True(result.Metrics[2].FailsAnalysis);
    }

    [Fact]
    public void A_critical_metric_that_is_High_but_within_its_critical_bound_only_costs_its_share()
    {
        var critical = Metric("errors") with
        {
            Critical = true,
            EffectSize = EffectSizeSettings.MeanRatioDefaults with { CriticalIncrease = 2.0 },
        };
        var result = new Analyses().Add(Metric("a"), Baseline, Same).Add(critical, Baseline, Worse).Judge();
        Assert.Equal(MetricClassification.High, result.Metrics[1].Classification);
        Assert.False(result.Metrics[1].FailsAnalysis);
        Assert.Equal(50, result.Score);
    }

    [Fact]
    public void A_critical_metric_without_data_scores_zero_as_no_evidence()
    {
        var critical = Metric("errors") with { Critical = true };
        var result = new Analyses().Add(Metric("a"), Baseline, Same).Add(Metric("b"), Baseline, Same)
            .Add(critical, Baseline, []).Judge();
        Assert.Equal(0, result.Score);
        Assert.True(result.Inconclusive);
    }

    [Fact]
    public void Half_the_metrics_without_data_scores_zero_but_reads_as_no_evidence()
    {
        var result = new Analyses().Add(Metric("a"), Baseline, Same).Add(Metric("b"), [], []).Judge();
        Assert.Equal(0, result.Score);
        Assert.True(result.Inconclusive);
        Assert.Contains("1 of 2 metrics have no data", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Fewer_than_half_without_data_do_not_count_in_the_score()
    {
        var result = new Analyses().Add(Metric("a"), Baseline, Same).Add(Metric("b"), Baseline, Same)
            .Add(Metric("c", "other"), [], Same).Judge();
        Assert.Equal(100, result.Score);
        Assert.False(result.Inconclusive);
        Assert.Contains(new GroupResult("other", null), result.Groups);
        Assert.EndsWith("all 2 metrics with data passed; 1 had no data and did not count.", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_required_metric_without_data_counts_as_a_failure()
    {
        var result = JudgeWithoutRequiredData();
        Assert.Equal(MetricClassification.NoDataFailure, result.Metrics[2].Classification);
        Assert.Equal(66.67, result.Score);
    }

    [Fact]
    public void A_required_metric_without_data_makes_the_analysis_inconclusive()
    {
        Assert.True(JudgeWithoutRequiredData().Inconclusive);
    }

    [Fact]
    public void Muted_metrics_are_reported_but_never_scored()
    {
        var muted = Metric("noisy") with { Muted = true };
        var result = new Analyses().Add(Metric("a"), Baseline, Same).Add(muted, Baseline, Worse).Judge();
        Assert.Equal(MetricClassification.High, result.Metrics[1].Classification);
        Assert.Equal(100, result.Score);
    }

    [Fact]
    public void A_large_batch_is_judged_in_parallel_with_the_same_results_as_one_by_one()
    {
        var analyses = new Analyses();
        for (var i = 0; i < 120; i++)
        {
            analyses.Add(Metric($"m{i}", $"g{i % 3}"), Around(100, 1000, i), Around(100 + (i % 4), 1000, i + 1000));
        }

        var together = analyses.Judge();
        Assert.Equal(120, together.Metrics.Count);
        for (var i = 0; i < 120; i += 17)
        {
            var alone = JudgeOne(Metric($"m{i}", $"g{i % 3}"), Around(100, 1000, i), Around(100 + (i % 4), 1000, i + 1000));
            Assert.Equal(alone.Test, together.Metrics[i].Test);
            Assert.Equal(alone.Classification, together.Metrics[i].Classification);
        }
    }

    /// <summary>Latency (p50 as good, p99 worse) weighted 60 and errors (as good) weighted 40.</summary>
    private static JudgeResult JudgeTwoWeightedGroups()
    {
        var analyses = new Analyses()
            .Add(Metric("p50", "latency"), Baseline, Same)
            .Add(Metric("p99", "latency"), Baseline, Worse)
            .Add(Metric("errors", "errors"), Baseline, Same);
        analyses.Weights["latency"] = 60;
        analyses.Weights["errors"] = 40;
        return analyses.Judge();
    }

    /// <summary>Two metrics as good as the baseline and a third that must have data but has none for the canary.</summary>
    private static JudgeResult JudgeWithoutRequiredData()
    {
        var required = Metric("b") with { MustHaveData = true };
        return new Analyses().Add(Metric("a"), Baseline, Same).Add(Metric("c"), Baseline, Same)
            .Add(required, Baseline, []).Judge();
    }
}
