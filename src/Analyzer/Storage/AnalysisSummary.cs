using System.Text.Json;

namespace Canary.Analyzer.Storage;

/// <summary>One metric of an analysis as lists show it: its classification, why, and the interval (experiment − control) when a test ran.</summary>
internal sealed record MetricSummary(string Name, string Classification, string Reason, double? Lower, double? Upper)
{
    /// <summary>A sequential metric's evidence after this analysis; null for sampled metrics.</summary>
    public MetricEvidence? Evidence { get; init; }
}

/// <summary>A sequential metric's evidence at one analysis: the e-value, α (it crosses at 1/α), the ratio canary/baseline and its bounds, the time counted.</summary>
internal sealed record MetricEvidence(double EValue, double Alpha, double? Ratio, double Lower, double? Upper, double? Seconds);

/// <summary>
/// An analysis without its samples and queries — what lists of a rollout's analyses show. Kept in
/// its own column when the analysis is stored, so a page of 500 never parses 500 results with
/// their samples (rows stored before schema 4 are summarised as they are read).
/// </summary>
internal sealed record AnalysisSummary(Guid Id, string RolloutKey, DateTimeOffset At, string Verdict, double? Score, bool Inconclusive, string Reason, IReadOnlyList<MetricSummary> Metrics)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The summary of a Judge output (or of an inconclusive analysis's {reason}) as JSON text; null when the result is not JSON (it is then summarised when read, and a tick is never lost to it).</summary>
    public static string? Summarize(string resultJson)
    {
        try
        {
            var (reason, metrics) = Read(resultJson);
            return JsonSerializer.Serialize(new { reason, metrics = metrics.Select(m => new { m.Name, m.Classification, m.Reason, m.Lower, m.Upper, sequential = m.Evidence }) }, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A row's summary: from the summary column, else (older rows) from the result.</summary>
    internal static AnalysisSummary FromRow(Guid id, string key, DateTimeOffset at, string verdict, double? score, bool inconclusive, string? summaryJson, string? resultJson)
    {
        if (summaryJson is null)
        {
            try
            {
                var (reason, metrics) = Read(resultJson ?? "{}");
                return new AnalysisSummary(id, key, at, verdict, score, inconclusive, reason, metrics);
            }
            catch (JsonException)
            {
                return new AnalysisSummary(id, key, at, verdict, score, inconclusive, "the stored result is not JSON", []);
            }
        }

        using var document = JsonDocument.Parse(summaryJson);
        var root = document.RootElement;
        var list = root.GetProperty("metrics").EnumerateArray().Select(m => new MetricSummary(
            m.GetProperty("name").GetString() ?? string.Empty, m.GetProperty("classification").GetString() ?? string.Empty, m.GetProperty("reason").GetString() ?? string.Empty,
            Number(m, "lower"), Number(m, "upper"))
        {
            Evidence = m.TryGetProperty("sequential", out var e) && e.ValueKind == JsonValueKind.Object ? Evidence(e, "eValue") : null,
        }).ToList();
        return new AnalysisSummary(id, key, at, verdict, score, inconclusive, root.GetProperty("reason").GetString() ?? string.Empty, list);
    }

    private static (string Reason, List<MetricSummary> Metrics) Read(string resultJson)
    {
        using var document = JsonDocument.Parse(resultJson);
        var root = document.RootElement;
        var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() ?? string.Empty : string.Empty;
        var metrics = new List<MetricSummary>();
        if (root.TryGetProperty("metrics", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in list.EnumerateArray())
            {
                var test = m.TryGetProperty("test", out var t) && t.ValueKind == JsonValueKind.Object ? t : default;
                var sequential = m.TryGetProperty("sequential", out var s) && s.ValueKind == JsonValueKind.Object ? s : default;
                metrics.Add(new MetricSummary(Text(m, "name"), Text(m, "classification"), Text(m, "reason"),
                    test.ValueKind == JsonValueKind.Object ? Number(test, "lower") : null, test.ValueKind == JsonValueKind.Object ? Number(test, "upper") : null)
                {
                    Evidence = sequential.ValueKind == JsonValueKind.Object ? Evidence(sequential, "eValue") : null,
                });
            }
        }

        return (reason, metrics);
    }

    /// <summary>The evidence of a Judge output's sequential block (or of a stored summary's: the same names); null without an e-value (no data).</summary>
    private static MetricEvidence? Evidence(JsonElement block, string eValue) =>
        Number(block, eValue) is { } e && Number(block, "alpha") is { } alpha
            ? new MetricEvidence(e, alpha, Number(block, block.TryGetProperty("ratio", out _) ? "ratio" : "estimate"), Number(block, "lower") ?? 0, Number(block, "upper"), Number(block, "seconds"))
            : null;

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : string.Empty;

    private static double? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}
