using System.Globalization;
using System.Text.Json.Nodes;
using Canary.Analyzer.Reports;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Api;

/// <summary>The evidence charts of the analysis page: a rollout's analysis draws its release's evidence up to it, any other its own intervals.</summary>
internal static class DashboardEvidence
{
    /// <summary>An older release is looked for at least this far back (or twice the time it counted: its warm-ups and held ticks are not counted).</summary>
    private static readonly TimeSpan Back = TimeSpan.FromHours(24);

    public static async Task<string> OfAnalysisAsync(IAnalysisStore store, AnalysisRecord analysis, JsonNode result, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(analysis);
        var counted = Blocks(result).Select(b => b.Block["seconds"] is JsonValue v && v.TryGetValue<double>(out var s) ? s : 0).DefaultIfEmpty(0).Max();
        if (counted <= 0 && !Blocks(result).Any())
        {
            return string.Empty;
        }

        // The current release starts where the rollout's state says; an older one is looked for back from the analysis, to where its counted time went back.
        var since = (await store.GetRolloutAsync(analysis.RolloutKey, token))?.ReadState().ReleaseSince is { } start && start <= analysis.At ? start : (DateTimeOffset?)null;
        var points = await ReleaseAsync(store, analysis.RolloutKey, since, analysis.At, TimeSpan.FromSeconds(counted * 2), token);
        return points.Count > 1 ? $"<h2>Evidence of the release up to this analysis</h2>\n{EvidenceChart.Release(points, 760, "evidence")}" : OwnIntervals(result);
    }

    /// <summary>
    /// The evidence of the release that is running at until: from since when that is known, else
    /// found in two reads — the day (or twice the counted time) before until, thinned, tells where
    /// the counted time last went back; the release is then read again from one stretch before that.
    /// </summary>
    public static async Task<IReadOnlyList<EvidencePoint>> ReleaseAsync(IAnalysisStore store, string key, DateTimeOffset? since, DateTimeOffset until, TimeSpan counted, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (since is { } known)
        {
            return await store.EvidenceHistoryAsync(key, known, until, EvidenceChart.MaxPoints, token);
        }

        var back = counted + counted > Back ? counted + counted : Back;
        var coarse = EvidenceChart.LastRelease(await store.EvidenceHistoryAsync(key, until - back, until, EvidenceChart.MaxPoints, token));
        if (coarse.Count == 0)
        {
            return coarse;
        }

        var stretch = back / (EvidenceChart.MaxPoints - 1);
        return EvidenceChart.LastRelease(await store.EvidenceHistoryAsync(key, coarse[0].At - stretch, until, EvidenceChart.MaxPoints, token));
    }

    /// <summary>Each sequential metric's evidence after each of the analysis's intervals (by interval); its ratio and bounds are those after the last.</summary>
    public static string OwnIntervals(JsonNode result)
    {
        var html = new System.Text.StringBuilder();
        foreach (var (name, block) in Blocks(result))
        {
            var evidence = (block["evidence"] as JsonArray ?? []).Select(e => e is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN).ToList();
            if (evidence.Count == 0 || ReleaseEvidence.Read(block) is not { } last)
            {
                continue;
            }

            // Only the e-value is known after each interval; the ratio and its bounds after the last.
            var points = evidence.Select((e, i) => ((double)(i + 1), i == evidence.Count - 1 ? last : new MetricEvidence(double.IsFinite(e) ? e : 1, last.Alpha, null, 0, null, null))).ToList();
            html.Append(EvidenceChart.Svg(name, points, 760, string.Create(CultureInfo.InvariantCulture, $"after each of its {evidence.Count} intervals"), $"evidence-{name}", spanIsTime: false));
        }

        return html.Length == 0 ? string.Empty : $"<h2>Evidence</h2>\n{html}";
    }

    private static IEnumerable<(string Name, JsonObject Block)> Blocks(JsonNode result) =>
        (result["metrics"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(m => m["sequential"] is JsonObject)
            .Select(m => (m["name"]?.GetValue<string>() ?? "?", (JsonObject)m["sequential"]!));
}
