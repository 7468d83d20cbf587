using Canary.Judge.Config;

namespace Canary.Analyzer.Documents;

/// <summary>
/// Reads the judge settings of a config — the "config" object of the Judge contract, or the same
/// fields at the top of a canary config file — filling the documented defaults.
/// </summary>
internal static class JudgeConfigReader
{
    /// <summary>The fields of a metric the Judge reads; a canary config adds its own.</summary>
    public static readonly string[] MetricFields = ["name", "group", "direction", "critical", "mustHaveData", "muted", "nanStrategy", "outliers", "effectSize"];

    /// <summary>A judge document's metric fields: the shared ones, and how it is tested (sequential metrics come with per-interval data).</summary>
    public static readonly string[] JudgeMetricFields = [.. MetricFields, "method", "edge"];

    // What a sequential metric may not set (DESIGN, "Sequential metrics"): it has no samples to clean and its effect is the ratio.
    private static readonly string[] NotSequential = ["nanStrategy", "outliers", "effectSize.measure", "effectSize.criticalIncrease", "effectSize.criticalDecrease"];

    public static JudgeConfig? Read(DocumentNode node, string path, DocumentFields fields)
    {
        if (!fields.Object(node, path, "name", "judge", "metrics", "groupWeights", "thresholds"))
        {
            return null;
        }

        var metrics = new List<MetricConfig>();
        foreach (var (element, metricPath) in Metrics(node, path, fields))
        {
            if (fields.Object(element, metricPath, JudgeMetricFields))
            {
                metrics.Add(ReadMethod(element, metricPath, fields, ReadMetric(element, metricPath, fields, null)));
            }
        }

        return ReadRest(node, path, fields, metrics);
    }

    /// <summary>Name, judge settings, group weights and thresholds around metrics read by the caller.</summary>
    public static JudgeConfig ReadRest(DocumentNode node, string path, DocumentFields fields, List<MetricConfig> metrics) => new()
    {
        Name = fields.String(node, path, "name", new JudgeConfig().Name),
        Judge = ReadJudge(node, path, fields),
        Metrics = metrics,
        GroupWeights = ReadWeights(node, path, fields),
        Thresholds = ReadThresholds(node, path, fields),
    };

    /// <summary>The elements of the required "metrics" array with their paths.</summary>
    public static List<(DocumentNode Node, string Path)> Metrics(DocumentNode config, string path, DocumentFields fields)
    {
        var metricsPath = DocumentFields.Join(path, "metrics");
        var metrics = new List<(DocumentNode, string)>();
        if (fields.Get(config, path, "metrics") is not { } array)
        {
            fields.Problem(metricsPath, "is required: an array with at least one metric", config.Line);
        }
        else if (array.Kind != NodeKind.Sequence)
        {
            fields.Problem(array, metricsPath, $"must be an array, got {array.Describe()}");
        }
        else
        {
            for (var i = 0; i < array.Items.Count; i++)
            {
                metrics.Add((fields.Seen(array.Items[i], $"{metricsPath}[{i}]"), $"{metricsPath}[{i}]"));
            }
        }

        return metrics;
    }

    /// <summary>
    /// One metric's judge settings. direction falls back to defaultDirection (a query template's
    /// header) when the metric does not name one.
    /// </summary>
    public static MetricConfig ReadMetric(DocumentNode element, string path, DocumentFields fields, Direction? defaultDirection)
    {
        if (fields.Get(element, path, "name") is null)
        {
            fields.Problem(DocumentFields.Join(path, "name"), "is required", element.Line);
        }

        return new MetricConfig
        {
            Name = fields.String(element, path, "name", string.Empty),
            Group = fields.String(element, path, "group", "default"),
            Direction = fields.Enum(element, path, "direction", defaultDirection ?? Direction.Either),
            Critical = fields.Boolean(element, path, "critical", false),
            MustHaveData = fields.Boolean(element, path, "mustHaveData", false),
            Muted = fields.Boolean(element, path, "muted", false),
            NanStrategy = fields.Enum(element, path, "nanStrategy", NanStrategy.Remove),
            Outliers = ReadOutliers(element, path, fields),
            EffectSize = ReadEffectSize(element, path, fields),
        };
    }

    /// <summary>
    /// The metric's method and edge; a sequential metric that sets a field it may not is a problem
    /// naming that field. implied is the method a canary config's template decides (no "method" field there).
    /// </summary>
    internal static MetricConfig ReadMethod(DocumentNode element, string path, DocumentFields fields, MetricConfig metric, JudgeMethod? implied = null)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(metric);
        var method = implied ?? fields.Enum(element, path, "method", JudgeMethod.MannWhitney);
        var edge = fields.Get(element, path, "edge");
        if (edge is not null && edge.Kind != NodeKind.String)
        {
            fields.Problem(edge, DocumentFields.Join(path, "edge"), $"must be an le of the metric's buckets as a string, e.g. \"0.25\", got {edge.Describe()}");
        }
        else if (edge is not null && method != JudgeMethod.Sequential)
        {
            fields.Problem(edge, DocumentFields.Join(path, "edge"), implied is null
                ? "is only for a sequential metric with histogram data (\"method\": \"sequential\")"
                : "is only for a metric of a template of kind histogram");
        }

        if (method == JudgeMethod.Sequential)
        {
            foreach (var name in NotSequential)
            {
                var parts = name.Split('.');
                var node = parts.Length == 1 ? element[name] : element[parts[0]]?[parts[1]];
                if (node is not null)
                {
                    fields.Problem(node, DocumentFields.Join(path, name), "is not allowed on a sequential metric: it judges per-interval counts by their ratio");
                }
            }
        }

        return metric with { Method = method, Edge = edge?.Kind == NodeKind.String ? edge.Text : null };
    }

    private static JudgeSettings ReadJudge(DocumentNode config, string path, DocumentFields fields)
    {
        var defaults = new JudgeSettings();
        if (fields.Get(config, path, "judge") is not { } judge || !fields.Object(judge, path = DocumentFields.Join(path, "judge"), "confidenceLevel", "tolerance"))
        {
            return defaults;
        }

        return new JudgeSettings
        {
            ConfidenceLevel = fields.Number(judge, path, "confidenceLevel", defaults.ConfidenceLevel),
            Tolerance = fields.Number(judge, path, "tolerance", defaults.Tolerance),
        };
    }

    private static OutlierSettings ReadOutliers(DocumentNode metric, string path, DocumentFields fields)
    {
        var defaults = new OutlierSettings();
        if (fields.Get(metric, path, "outliers") is not { } outliers || !fields.Object(outliers, path = DocumentFields.Join(path, "outliers"), "strategy", "factor"))
        {
            return defaults;
        }

        return new OutlierSettings
        {
            Strategy = fields.Enum(outliers, path, "strategy", defaults.Strategy),
            Factor = fields.Number(outliers, path, "factor", defaults.Factor),
        };
    }

    private static EffectSizeSettings ReadEffectSize(DocumentNode metric, string path, DocumentFields fields)
    {
        if (fields.Get(metric, path, "effectSize") is not { } effect
            || !fields.Object(effect, path = DocumentFields.Join(path, "effectSize"), "measure", "allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease"))
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

    private static Dictionary<string, double> ReadWeights(DocumentNode config, string path, DocumentFields fields)
    {
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        if (fields.Get(config, path, "groupWeights") is not { } element)
        {
            return weights;
        }

        path = DocumentFields.Join(path, "groupWeights");
        if (element.Kind != NodeKind.Mapping)
        {
            fields.Problem(element, path, $"must be an object of group name to weight, got {element.Describe()}");
            return weights;
        }

        foreach (var (group, value) in element.Members)
        {
            var groupPath = $"{path}.{group}";
            fields.Seen(value, groupPath);
            if (!value.TryGetNumber(out var weight))
            {
                fields.Problem(value, groupPath, $"must be a number, got {value.Describe()}");
                continue;
            }

            weights[group] = weight;
        }

        return weights;
    }

    private static ScoreThresholds ReadThresholds(DocumentNode config, string path, DocumentFields fields)
    {
        var defaults = new ScoreThresholds();
        if (fields.Get(config, path, "thresholds") is not { } element || !fields.Object(element, path = DocumentFields.Join(path, "thresholds"), "pass", "marginal"))
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
