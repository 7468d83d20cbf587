namespace Canary.Judge.Config;

/// <summary>The judge settings and metrics of one analysis (the "config" of the Judge contract).</summary>
public sealed record JudgeConfig
{
    public string Name { get; init; } = "analysis";

    public JudgeSettings Judge { get; init; } = new();

    public IReadOnlyList<MetricConfig> Metrics { get; init; } = [];

    /// <summary>Weights per group name, out of 100; groups without a weight share what is left equally.</summary>
    public IReadOnlyDictionary<string, double> GroupWeights { get; init; } = new Dictionary<string, double>();

    public ScoreThresholds Thresholds { get; init; } = new();
}

public sealed record JudgeSettings
{
    /// <summary>Confidence level of the Hodges–Lehmann interval, in (0, 1).</summary>
    public double ConfidenceLevel { get; init; } = 0.98;

    /// <summary>The lower end of the interval must exceed this fraction of |estimate| to call a metric High (Low symmetrically).</summary>
    public double Tolerance { get; init; } = 0.25;
}

public sealed record ScoreThresholds
{
    public double Pass { get; init; } = 95;

    public double Marginal { get; init; } = 75;
}
