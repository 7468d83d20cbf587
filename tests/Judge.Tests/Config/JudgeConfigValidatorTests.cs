using Canary.Judge.Config;

namespace Canary.Judge.Tests.Config;

public class JudgeConfigValidatorTests
{
    private static readonly MetricConfig Metric = new() { Name = "latency", Group = "latency" };

    [Fact]
    public void A_valid_config_has_no_problems()
    {
        var config = new JudgeConfig { Metrics = [Metric], GroupWeights = new Dictionary<string, double> { ["latency"] = 100 } };
        Assert.Empty(JudgeConfigValidator.Validate(config));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_its_field()
    {
        var config = new JudgeConfig
        {
            Judge = new JudgeSettings { ConfidenceLevel = 1.5, Tolerance = -1 },
            Metrics = [Metric, Metric with { EffectSize = EffectSizeSettings.ForMeasure(EffectSizeMeasure.Cles) with { AllowedIncrease = 2 } }],
            GroupWeights = new Dictionary<string, double> { ["latency"] = 80, ["errors"] = 30 },
            Thresholds = new ScoreThresholds { Pass = 70, Marginal = 80 },
        };

        var problems = JudgeConfigValidator.Validate(config).Select(p => p.ToString()).ToList();

        Assert.Equal(
        [
            "config.judge.confidenceLevel: must be between 0 and 1 (exclusive), got 1.5",
            "config.judge.tolerance: must be a finite number of at least 0, got -1",
            "config.metrics[1].name: \"latency\" is used by an earlier metric; names must be unique",
            "config.metrics[1].effectSize.allowedIncrease: must be a probability between 0 and 1 for cles, got 2",
            "config.groupWeights.errors: no metric is in group \"errors\"",
            "config.groupWeights: the weights add up to 110, more than 100",
            "config.thresholds.marginal: must not exceed the pass threshold 70, got 80",
        ], problems);
    }

    [Fact]
    public void A_config_without_metrics_is_rejected()
    {
        Assert.Equal("config.metrics: must name at least one metric", Assert.Single(JudgeConfigValidator.Validate(new JudgeConfig())).ToString());
    }
}
