using System.Globalization;

namespace Canary.Judge.Config;

/// <summary>A problem with one field of a config, e.g. ("judge.confidenceLevel", "must be between 0 and 1 (exclusive), got 1.5").</summary>
public sealed record ConfigProblem(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>Checks the value rules of a config that its types cannot express; reports every problem at once.</summary>
public static class JudgeConfigValidator
{
    public static IReadOnlyList<ConfigProblem> Validate(JudgeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var problems = new List<ConfigProblem>();
        var level = config.Judge.ConfidenceLevel;
        if (!(level > 0 && level < 1))
        {
            problems.Add(new("config.judge.confidenceLevel", $"must be between 0 and 1 (exclusive), got {Show(level)}"));
        }

        if (!(config.Judge.Tolerance >= 0) || double.IsInfinity(config.Judge.Tolerance))
        {
            problems.Add(new("config.judge.tolerance", $"must be a finite number of at least 0, got {Show(config.Judge.Tolerance)}"));
        }

        if (config.Metrics.Count == 0)
        {
            problems.Add(new("config.metrics", "must name at least one metric"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Metrics.Count; i++)
        {
            ValidateMetric(config.Metrics[i], $"config.metrics[{i}]", seen, problems);
        }

        var groups = config.Metrics.Select(m => m.Group).ToHashSet(StringComparer.Ordinal);
        foreach (var (group, weight) in config.GroupWeights)
        {
            if (!(weight >= 0) || double.IsInfinity(weight))
            {
                problems.Add(new($"config.groupWeights.{group}", $"must be a finite number of at least 0, got {Show(weight)}"));
            }
            else if (!groups.Contains(group))
            {
                problems.Add(new($"config.groupWeights.{group}", $"no metric is in group \"{group}\""));
            }
        }

        var sum = config.GroupWeights.Values.Where(double.IsFinite).Sum();
        if (sum > 100 + 1e-9)
        {
            problems.Add(new("config.groupWeights", $"the weights add up to {Show(sum)}, more than 100"));
        }

        var thresholds = config.Thresholds;
        if (!(thresholds.Pass >= 0 && thresholds.Pass <= 100))
        {
            problems.Add(new("config.thresholds.pass", $"must be between 0 and 100, got {Show(thresholds.Pass)}"));
        }

        if (!(thresholds.Marginal >= 0 && thresholds.Marginal <= 100))
        {
            problems.Add(new("config.thresholds.marginal", $"must be between 0 and 100, got {Show(thresholds.Marginal)}"));
        }
        else if (thresholds.Marginal > thresholds.Pass)
        {
            problems.Add(new("config.thresholds.marginal", $"must not exceed the pass threshold {Show(thresholds.Pass)}, got {Show(thresholds.Marginal)}"));
        }

        return problems;
    }

    private static void ValidateMetric(MetricConfig metric, string path, HashSet<string> seen, List<ConfigProblem> problems)
    {
        if (string.IsNullOrWhiteSpace(metric.Name))
        {
            problems.Add(new($"{path}.name", "must not be empty"));
        }
        else if (!seen.Add(metric.Name))
        {
            problems.Add(new($"{path}.name", $"\"{metric.Name}\" is used by an earlier metric; names must be unique"));
        }

        if (string.IsNullOrWhiteSpace(metric.Group))
        {
            problems.Add(new($"{path}.group", "must not be empty"));
        }

        if (!(metric.Outliers.Factor >= 0) || double.IsInfinity(metric.Outliers.Factor))
        {
            problems.Add(new($"{path}.outliers.factor", $"must be a finite number of at least 0, got {Show(metric.Outliers.Factor)}"));
        }

        var sizes = metric.EffectSize;
        var isProbability = sizes.Measure == EffectSizeMeasure.Cles;
        foreach (var (field, value) in new[]
        {
            ("allowedIncrease", sizes.AllowedIncrease), ("allowedDecrease", sizes.AllowedDecrease),
            ("criticalIncrease", sizes.CriticalIncrease), ("criticalDecrease", sizes.CriticalDecrease),
        })
        {
            if (!double.IsFinite(value) || value < 0 || (isProbability && value > 1))
            {
                var range = isProbability ? "a probability between 0 and 1 for cles" : "a ratio of at least 0";
                problems.Add(new($"{path}.effectSize.{field}", $"must be {range}, got {Show(value)}"));
            }
            else if (metric.Method == JudgeMethod.Sequential && value == 0 && field.StartsWith("allowed", StringComparison.Ordinal))
            {
                // The nulls are ratios of rates: 0 would put the null at log 0.
                problems.Add(new($"{path}.effectSize.{field}", "must be a ratio above 0 on a sequential metric, got 0"));
            }
        }
    }

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
