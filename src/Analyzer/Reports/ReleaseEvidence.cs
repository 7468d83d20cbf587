using System.Text.Json.Nodes;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Reports;

/// <summary>
/// What the report says of sequential evidence: which kind of metric decided each release
/// (sequential, Mann–Whitney, both, or neither) with the median time to rollback of each, and a
/// rolled-back release's evidence over time per sequential metric (at most 500 points each).
/// </summary>
internal static class ReleaseEvidence
{
    public const string Sequential = "sequential";
    public const string MannWhitney = "mannWhitney";
    public const string Both = "both";
    public const string Other = "other";

    private static readonly string[] Failing = ["High", "Low", "NoDataFailure"];

    /// <summary>A Judge output's sequential block as evidence; null when there is none.</summary>
    public static MetricEvidence? Read(JsonNode? block) =>
        block is JsonObject s && Number(s["eValue"]) is { } e && Number(s["alpha"]) is { } alpha
            ? new MetricEvidence(e, alpha, Number(s["estimate"]), Number(s["lower"]) ?? 0, Number(s["upper"]), Number(s["seconds"]))
            : null;

    /// <summary>
    /// The kind of metric that decided a release. A rollback is decided by what its reason says: a
    /// crossing is sequential; failed checks belong to the metrics that failed the last failing
    /// analysis; any other rollback (no evidence, a canary never ready, an abort) is other. A
    /// promotion belongs to the metrics its analyses judged (none: other).
    /// </summary>
    public static string Method(Release release)
    {
        ArgumentNullException.ThrowIfNull(release);
        List<MetricOutcome> deciding;
        if (release.Outcome == Release.RolledBack)
        {
            if (release.Reason.StartsWith("rolled back: the evidence crossed", StringComparison.Ordinal))
            {
                return Sequential;
            }

            deciding = release.Reason.StartsWith("rolled back: analysis failed", StringComparison.Ordinal)
                ? release.Analyses.LastOrDefault(a => a.Metrics.Any(m => Failing.Contains(m.Classification)))?.Metrics.Where(m => Failing.Contains(m.Classification)).ToList() ?? []
                : [];
        }
        else
        {
            deciding = [.. release.Analyses.SelectMany(a => a.Metrics).Where(m => m.Classification is not ("NoData" or "Error"))];
        }

        return (deciding.Any(m => m.Sequential), deciding.Any(m => !m.Sequential)) switch
        {
            (true, true) => Both,
            (true, false) => Sequential,
            (false, true) => MannWhitney,
            _ => Other,
        };
    }

    /// <summary>Per kind: the decided releases, promoted and rolled back, and the rollbacks' median time.</summary>
    public static JsonObject DecidedBy(IReadOnlyList<Release> releases)
    {
        ArgumentNullException.ThrowIfNull(releases);
        var decided = releases.Where(r => r.Outcome is Release.Promoted or Release.RolledBack).ToLookup(Method);
        var by = new JsonObject();
        foreach (var method in new[] { Sequential, MannWhitney, Both, Other })
        {
            var theirs = decided[method].ToList();
            var rollbacks = theirs.Where(r => r.Outcome == Release.RolledBack).Select(r => (r.Decided!.Value - r.Started).TotalSeconds).ToList();
            by[method] = new JsonObject
            {
                ["releases"] = theirs.Count,
                ["promoted"] = theirs.Count(r => r.Outcome == Release.Promoted),
                ["rolledBack"] = rollbacks.Count,
                ["medianTimeToRollbackSeconds"] = WeeklyReport.Quantile(rollbacks, 0.5),
            };
        }

        return by;
    }

    /// <summary>Each sequential metric's evidence after each of the release's analyses, seconds from the release's start; at most 500 points per metric.</summary>
    public static JsonObject Points(Release release)
    {
        ArgumentNullException.ThrowIfNull(release);
        var metrics = new JsonObject();
        foreach (var name in release.Analyses.SelectMany(a => a.Metrics).Where(m => m.Sequential).Select(m => m.Name).Distinct(StringComparer.Ordinal))
        {
            var points = release.Analyses.SelectMany(a => a.Metrics.Where(m => m.Name == name && m.Evidence is not null).Select(m => (a.At, m.Evidence!))).ToList();
            var kept = EvidenceChart.Thin(points);
            metrics[name] = new JsonArray([.. kept.Select(p => (JsonNode)new JsonObject
            {
                ["seconds"] = Math.Round((p.At - release.Started).TotalSeconds, 1),
                ["eValue"] = p.Item2.EValue,
                ["alpha"] = p.Item2.Alpha,
                ["ratio"] = p.Item2.Ratio,
                ["lower"] = p.Item2.Lower,
                ["upper"] = p.Item2.Upper,
            })]);
        }

        return metrics;
    }

    /// <summary>The charts of a rolled-back release's evidence (the report's JSON points), one per sequential metric.</summary>
    public static string Charts(JsonNode? evidence, string id)
    {
        var html = new System.Text.StringBuilder();
        foreach (var (name, points) in evidence as JsonObject ?? [])
        {
            var list = (points as JsonArray ?? []).OfType<JsonObject>()
                .Select(p => (Number(p["seconds"]) ?? 0, new MetricEvidence(Number(p["eValue"]) ?? 1, Number(p["alpha"]) ?? 0.01, Number(p["ratio"]), Number(p["lower"]) ?? 0, Number(p["upper"]), null)))
                .ToList();
            html.Append(EvidenceChart.Svg(name, list, 720, "seconds from the start of the release", $"{id}-{name}"));
        }

        return html.ToString();
    }

    private static double? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
