using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Serving;

namespace Canary.Analyzer.Cli.Demo;

/// <summary>A weight the canary reached, and when (seconds since the demo started).</summary>
internal sealed record DemoStep(int Weight, double At);

/// <summary>A metric that did not pass in an analysis: the Judge's classification and effect size.</summary>
internal sealed record DemoMetric(string Name, string Classification, double? MeanRatio, string Reason);

/// <summary>One analysis of a release, as the summary shows it.</summary>
internal sealed record DemoAnalysis(double At, int Weight, double? Score, string Verdict, string Reason, IReadOnlyList<DemoMetric> FailingMetrics);

/// <summary>One release of the demo and what became of it.</summary>
internal sealed class DemoRelease(string name, string description, string revision, string expected)
{
    public string Name => name;

    public string Description => description;

    public string Revision => revision;

    /// <summary>What the demo expects: promoted or rolled back.</summary>
    public string Expected => expected;

    /// <summary>promoted, rolled back, or unfinished (the demo was interrupted or timed out).</summary>
    public string Outcome { get; set; } = "unfinished";

    public string Reason { get; set; } = string.Empty;

    public double StartedAt { get; set; }

    public double? DecidedAt { get; set; }

    public List<DemoStep> Steps { get; } = [];

    public List<DemoAnalysis> Analyses { get; } = [];
}

/// <summary>The demo's summary: summary.json (for tools and tests) and summary.html (for people).</summary>
internal sealed class DemoSummary
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public required DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset FinishedAt { get; set; }

    public bool Fast { get; init; }

    public bool Interrupted { get; set; }

    public required string Frontend { get; init; }

    public List<DemoRelease> Releases { get; } = [];

    public LoadCounts Load { get; set; } = new(0, 0, 0, 0, new Dictionary<string, long>());

    public double LoadRate { get; init; }

    /// <summary>Every release ended as expected and users saw no failure that was not injected.</summary>
    public bool AsExpected => !Interrupted && Releases.Count > 0 && Releases.All(r => r.Outcome == r.Expected) && Load.OtherFailures == 0;

    /// <summary>Records one tick of the rollout into the release it belongs to (by revision).</summary>
    public void Record(LocalTick tick, double at)
    {
        ArgumentNullException.ThrowIfNull(tick);
        var state = tick.Result.Decision.State;
        var release = Releases.LastOrDefault(r => r.Revision == state.Revision);
        if (release is null)
        {
            return;
        }

        // The analysis judged the weight that held before this tick's decision.
        var analysed = release.Steps.Count == 0 ? 0 : release.Steps[^1].Weight;
        if (release.Steps.Count == 0 || release.Steps[^1].Weight != state.CanaryWeight)
        {
            release.Steps.Add(new DemoStep(state.CanaryWeight, Math.Round(at, 1)));
        }

        if (tick.Result.Analysis is { } analysis)
        {
            release.Analyses.Add(new DemoAnalysis(Math.Round(at, 1), analysed, analysis.Outcome.Score, analysis.Outcome.Verdict.ToString(), analysis.Outcome.Reason,
                FailingMetrics(analysis.ResultJson)));
        }

        if (release.DecidedAt is null && state.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed)
        {
            release.Outcome = state.Phase == RolloutPhase.Succeeded ? "promoted" : "rolled back";
            release.Reason = tick.Result.Decision.Reason;
            release.DecidedAt = Math.Round(at, 1);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        startedAt = StartedAt,
        finishedAt = FinishedAt,
        fast = Fast,
        interrupted = Interrupted,
        asExpected = AsExpected,
        frontend = Frontend,
        releases = Releases.Select(r => new
        {
            name = r.Name,
            description = r.Description,
            revision = r.Revision,
            expected = r.Expected,
            outcome = r.Outcome,
            reason = r.Reason,
            startedAt = r.StartedAt,
            decidedAt = r.DecidedAt,
            steps = r.Steps,
            analyses = r.Analyses,
        }),
        load = new
        {
            ratePerSecond = LoadRate,
            requests = Load.Requests,
            failures = Load.Failures,
            injectedFailures = Load.InjectedFailures,
            otherFailures = Load.OtherFailures,
            otherFailureReasons = Load.OtherFailureReasons,
        },
    }, Json);

    public string ToHtml()
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>canary demo summary</title>
            <style>
            body {"{"} font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; padding: 0 1em {"}"}
            table {"{"} border-collapse: collapse; margin: .5em 0 1.5em {"}"} td, th {"{"} border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: left; vertical-align: top {"}"}
            .promoted {"{"} color: #176f2c; font-weight: 600 {"}"} .rolled {"{"} color: #a01c1c; font-weight: 600 {"}"} .num {"{"} text-align: right; font-variant-numeric: tabular-nums {"}"}
            .verdict-Pass {"{"} color: #176f2c {"}"} .verdict-Fail {"{"} color: #a01c1c {"}"} .verdict-Inconclusive, .verdict-Marginal {"{"} color: #8a6100 {"}"}
            svg {"{"} background: #fafafa; border: 1px solid #ddd {"}"}
            </style></head><body>
            <h1>canary demo</h1>
            <p>{(AsExpected ? "Everything went as expected" : "Not everything went as expected")}: {Releases.Count(r => r.Outcome == "promoted")} release(s) promoted,
            {Releases.Count(r => r.Outcome == "rolled back")} rolled back{(Interrupted ? "; the demo was interrupted" : string.Empty)}.
            Started {StartedAt:u}, finished {FinishedAt:u}{(Fast ? " (--fast)" : string.Empty)}.</p>
            <h2>What users saw</h2>
            <table>
            <tr><th>requests through HAProxy</th><td class="num">{Load.Requests}</td></tr>
            <tr><th>failures injected by a faulty release</th><td class="num">{Load.InjectedFailures}</td></tr>
            <tr><th>other failures (routing, restarts, weight shifts)</th><td class="num">{Load.OtherFailures}</td></tr>
            </table>
            """);
        foreach (var (reason, count) in Load.OtherFailureReasons)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p>{Encode(reason)}: {count}</p>\n");
        }

        foreach (var release in Releases)
        {
            var outcome = release.Outcome == "promoted" ? "promoted" : "rolled";
            html.Append(CultureInfo.InvariantCulture, $"""
                <h2>{Encode(release.Name)}: <span class="{outcome}">{Encode(release.Outcome)}</span></h2>
                <p>{Encode(release.Description)} (revision {Encode(release.Revision)}; expected: {Encode(release.Expected)}).
                {(release.DecidedAt is { } decided ? $"Decided after {(decided - release.StartedAt).ToString("0.#", CultureInfo.InvariantCulture)} s: " : string.Empty)}{Encode(release.Reason)}</p>
                {Chart(release)}
                <table><tr><th>at (s)</th><th>weight</th><th>score</th><th>verdict</th><th>metrics that did not pass</th><th>reason</th></tr>

                """);
            foreach (var analysis in release.Analyses)
            {
                var failing = string.Join("<br>", analysis.FailingMetrics.Select(m =>
                    $"{Encode(m.Name)}: {Encode(m.Classification)}{(m.MeanRatio is { } ratio ? $" (×{ratio.ToString("0.##", CultureInfo.InvariantCulture)})" : string.Empty)}"));
                html.Append(CultureInfo.InvariantCulture, $"""
                    <tr><td class="num">{analysis.At:0.0}</td><td class="num">{analysis.Weight} %</td><td class="num">{(analysis.Score is { } score ? score.ToString("0.#", CultureInfo.InvariantCulture) : "–")}</td><td class="verdict-{analysis.Verdict}">{analysis.Verdict}</td><td>{(failing.Length == 0 ? "none" : failing)}</td><td>{Encode(analysis.Reason)}</td></tr>

                    """);
            }

            html.Append("</table>\n");
        }

        html.Append("<p>The same numbers are in summary.json; every process's output is in the work folder next to it.</p>\n</body></html>\n");
        return html.ToString();
    }

    private static string Chart(DemoRelease release)
    {
        var end = Math.Max(release.DecidedAt ?? 0, release.Steps.Count == 0 ? 0 : release.Steps[^1].At) + 1;
        return Reports.WeightChart.Svg([.. release.Steps.Select(s => (s.At, s.Weight))], end, 600, 140, $"canary weight over {(end - release.StartedAt).ToString("0", CultureInfo.InvariantCulture)} s");
    }

    private static List<DemoMetric> FailingMetrics(string resultJson)
    {
        try
        {
            return JsonNode.Parse(resultJson)?["metrics"] is JsonArray metrics
                ? [.. metrics.OfType<JsonObject>()
                    .Where(m => m["classification"]?.GetValue<string>() is { } c && c is not ("Pass" or "NoData"))
                    .Select(m => new DemoMetric(
                        m["name"]?.GetValue<string>() ?? "?",
                        m["classification"]!.GetValue<string>(),
                        m["effectSize"]?["meanRatio"] is JsonValue v && v.TryGetValue<double>(out var ratio) ? Math.Round(ratio, 3) : null,
                        m["reason"]?.GetValue<string>() ?? string.Empty))]
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static string Encode(string text) => System.Net.WebUtility.HtmlEncode(text);
}
