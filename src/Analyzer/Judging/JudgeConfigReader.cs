using System.Text.Json;
using Canary.Judge.Config;

namespace Canary.Analyzer.Judging;

/// <summary>Reads the "config" object of the Judge contract, filling the documented defaults.</summary>
internal static class JudgeConfigReader
{
    public static JudgeConfig? Read(JsonElement element, string path, JsonFields fields)
    {
        if (!fields.Object(element, path, "name", "judge", "metrics", "groupWeights", "thresholds"))
        {
            return null;
        }

        var defaults = new JudgeConfig();
        return new JudgeConfig
        {
            Name = fields.String(element, path, "name", defaults.Name),
            Judge = ReadJudge(element, path, fields),
            Metrics = ReadMetrics(element, path, fields),
            GroupWeights = ReadWeights(element, path, fields),
            Thresholds = ReadThresholds(element, path, fields),
        };
    }

    private static JudgeSettings ReadJudge(JsonElement config, string path, JsonFields fields)
    {
        var defaults = new JudgeSettings();
        path = JsonFields.Join(path, "judge");
        if (!JsonFields.TryGet(config, "judge", out var judge) || !fields.Object(judge, path, "confidenceLevel", "tolerance"))
        {
            return defaults;
        }

        return new JudgeSettings
        {
            ConfidenceLevel = fields.Number(judge, path, "confidenceLevel", defaults.ConfidenceLevel),
            Tolerance = fields.Number(judge, path, "tolerance", defaults.Tolerance),
        };
    }

    private static List<MetricConfig> ReadMetrics(JsonElement config, string path, JsonFields fields)
    {
        var metrics = new List<MetricConfig>();
        path = JsonFields.Join(path, "metrics");
        if (!config.TryGetProperty("metrics", out var array))
        {
            fields.Problem(path, "is required: an array with at least one metric");
            return metrics;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            fields.Problem(path, $"must be an array, got {JsonFields.Describe(array)}");
            return metrics;
        }

        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            var metric = ReadMetric(element, $"{path}[{index++}]", fields);
            if (metric is not null)
            {
                metrics.Add(metric);
            }
        }

        return metrics;
    }

    private static MetricConfig? ReadMetric(JsonElement element, string path, JsonFields fields)
    {
        if (!fields.Object(element, path, "name", "group", "direction", "critical", "mustHaveData", "muted", "nanStrategy", "outliers", "effectSize"))
        {
            return null;
        }

        if (!JsonFields.TryGet(element, "name", out _))
        {
            fields.Problem($"{path}.name", "is required");
        }

        return new MetricConfig
        {
            Name = fields.String(element, path, "name", string.Empty),
            Group = fields.String(element, path, "group", "default"),
            Direction = fields.Enum(element, path, "direction", Direction.Either),
            Critical = fields.Boolean(element, path, "critical", false),
            MustHaveData = fields.Boolean(element, path, "mustHaveData", false),
            Muted = fields.Boolean(element, path, "muted", false),
            NanStrategy = fields.Enum(element, path, "nanStrategy", NanStrategy.Remove),
            Outliers = ReadOutliers(element, path, fields),
            EffectSize = ReadEffectSize(element, path, fields),
        };
    }

    private static OutlierSettings ReadOutliers(JsonElement metric, string path, JsonFields fields)
    {
        var defaults = new OutlierSettings();
        path = JsonFields.Join(path, "outliers");
        if (!JsonFields.TryGet(metric, "outliers", out var outliers) || !fields.Object(outliers, path, "strategy", "factor"))
        {
            return defaults;
        }

        return new OutlierSettings
        {
            Strategy = fields.Enum(outliers, path, "strategy", defaults.Strategy),
            Factor = fields.Number(outliers, path, "factor", defaults.Factor),
        };
    }

    private static EffectSizeSettings ReadEffectSize(JsonElement metric, string path, JsonFields fields)
    {
        path = JsonFields.Join(path, "effectSize");
        if (!JsonFields.TryGet(metric, "effectSize", out var effect)
            || !fields.Object(effect, path, "measure", "allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease"))
        {
            return EffectSizeSettings.MeanRatioDefaults;
        }

        var measure = fields.Enum(effect, path, "measure", EffectSizeMeasure.MeanRatio);
        var neutral = EffectSizeSettings.Neutral(measure);
        return new EffectSizeSettings
        {
            Measure = measure,
            AllowedIncrease = fields.Number(effect, path, "allowedIncrease", neutral),
            AllowedDecrease = fields.Number(effect, path, "allowedDecrease", neutral),
            CriticalIncrease = fields.Number(effect, path, "criticalIncrease", neutral),
            CriticalDecrease = fields.Number(effect, path, "criticalDecrease", neutral),
        };
    }

    private static Dictionary<string, double> ReadWeights(JsonElement config, string path, JsonFields fields)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        path = JsonFields.Join(path, "groupWeights");
        if (!JsonFields.TryGet(config, "groupWeights", out var element))
        {
            return weights;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            fields.Problem(path, $"must be an object of group name to weight, got {JsonFields.Describe(element)}");
            return weights;
        }

        foreach (var member in element.EnumerateObject())
        {
            if (member.Value.ValueKind != JsonValueKind.Number || !member.Value.TryGetDouble(out var weight))
            {
                fields.Problem($"{path}.{member.Name}", $"must be a number, got {JsonFields.Describe(member.Value)}");
                continue;
            }

            weights[member.Name] = weight;
        }

        return weights;
    }

    private static ScoreThresholds ReadThresholds(JsonElement config, string path, JsonFields fields)
    {
        var defaults = new ScoreThresholds();
        path = JsonFields.Join(path, "thresholds");
        if (!JsonFields.TryGet(config, "thresholds", out var element) || !fields.Object(element, path, "pass", "marginal"))
        {
            return defaults;
        }

        return new ScoreThresholds
        {
            Pass = fields.Number(element, path, "pass", defaults.Pass),
            Marginal = fields.Number(element, path, "marginal", defaults.Marginal),
        };
    }
}
