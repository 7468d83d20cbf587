using Canary.Judge.Config;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// A canary config: the metrics to fetch (each a query template or an inline query) with their
/// judge settings, group weights, thresholds, and the defaults for rendering the queries.
/// </summary>
internal sealed record CanaryConfig
{
    /// <summary>The file the config came from, for messages.</summary>
    public required string Source { get; init; }

    /// <summary>What the Judge reads: name, judge settings, metrics, group weights, thresholds.</summary>
    public required JudgeConfig Judge { get; init; }

    /// <summary>The queries, in the order of <see cref="JudgeConfig.Metrics"/>.</summary>
    public required IReadOnlyList<CanaryMetric> Metrics { get; init; }

    /// <summary>The value of {{namespace}}, unless a --var or the rollout gives one.</summary>
    public string? Namespace { get; init; }

    /// <summary>The range of rate() windows, {{interval}}.</summary>
    public string Interval { get; init; } = "1m";

    /// <summary>The resolution of the range queries: one sample per step (default: the interval, so samples do not overlap); for sequential metrics the length of each count interval in `canary analyze`.</summary>
    public string Step { get; init; } = "1m";

    /// <summary>What is allowed but probably wrong, said at load (e.g. a step shorter than the rate window).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Values of the templates' own placeholders.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();
}

/// <summary>One metric's query: where it came from, its template and whether several series pool into one sample.</summary>
internal sealed record CanaryMetric(string Name, QueryTemplate Template, bool Pool, string? TemplateName)
{
    public string Kind => Template.Kind;

    public string? Unit => Template.Header.GetValueOrDefault("unit");
}
