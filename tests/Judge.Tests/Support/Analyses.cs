using Canary.Judge.Config;
using Canary.Judge.Results;

namespace Canary.Judge.Tests.Support;

/// <summary>Builds small analyses: one config and its series, judged in one call.</summary>
internal sealed class Analyses
{
    private readonly List<MetricConfig> metrics = [];
    private readonly Dictionary<string, MetricSeries> series = new(StringComparer.Ordinal);

    public Dictionary<string, double> Weights { get; } = new(StringComparer.Ordinal);

    public ScoreThresholds Thresholds { get; set; } = new();

    public JudgeSettings Settings { get; set; } = new();

    public Analyses Add(MetricConfig metric, double[] control, double[] experiment)
    {
        metrics.Add(metric);
        series[metric.Name] = new MetricSeries(metric.Name, control, experiment);
        return this;
    }

    public JudgeConfig Config => new()
    {
        Name = "test",
        Judge = Settings,
        Metrics = metrics,
        GroupWeights = Weights,
        Thresholds = Thresholds,
    };

    public JudgeResult Judge() => CanaryJudge.Judge(Config, series);

    public static MetricResult JudgeOne(MetricConfig metric, double[] control, double[] experiment) =>
        new Analyses().Add(metric, control, experiment).Judge().Metrics[0];

    /// <summary>n points of a normal with the given mean and a 5 % standard deviation, seeded by the mean.</summary>
    public static double[] Around(double mean, int n = 200, int seed = 1) =>
        Samples.Normal(new Random(seed), n, mean, mean * 0.05);
}
