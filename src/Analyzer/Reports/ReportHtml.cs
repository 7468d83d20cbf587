using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Canary.Analyzer.Reports;

/// <summary>The report as one self-contained HTML page: tables, and the charts embedded as PNG data, so it reads offline and in e-mail.</summary>
internal static class ReportHtml
{
    public static string Render(JsonObject report, IReadOnlyList<(string File, string Title, byte[] Png)> charts)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(charts);
        var overall = report["overall"]!.AsObject();
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>canary weekly report {E(Text(report["week"]))}</title>
            <style>
            body {"{"} font: 14px/1.45 system-ui, sans-serif; color: #1f2328; max-width: 64em; margin: 1.5em auto; padding: 0 1em {"}"}
            table {"{"} border-collapse: collapse; margin: .4em 0 1.4em {"}"} th, td {"{"} border-bottom: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top {"}"}
            th {"{"} background: #f6f8fa {"}"} .num {"{"} text-align: right; font-variant-numeric: tabular-nums {"}"} img {"{"} max-width: 100%; border: 1px solid #d0d7de; margin: .3em 0 {"}"}
            .bad {"{"} color: #cf222e {"}"} .good {"{"} color: #1a7f37 {"}"} .muted {"{"} color: #656d76 {"}"}
            </style></head><body>
            <h1>Releases in {E(Text(report["week"]))}</h1>
            <p class="muted">{E(Text(report["from"]))} to {E(Text(report["to"]))} ({E(Text(report["timeZone"]))}); releases belong to the week they started in, with their outcome at its end. Made {E(Text(report["createdAt"]))} by canary.</p>

            """);
        var started = overall["started"]!.GetValue<int>();
        if (started == 0)
        {
            html.Append("<p><b>No release started this week.</b></p>\n");
        }
        else
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <p><b>{started}</b> releases started: <span class="good">{overall["promoted"]} promoted</span>, <span class="bad">{overall["rolledBack"]} rolled back</span>,
                {overall["running"]} still running, {overall["superseded"]} superseded by a newer revision. Rollback rate {Percent(overall["rollbackRate"])}.
                Time from new revision to decision: median {Minutes(overall["timeToDecisionSeconds"]!["median"])}, p90 {Minutes(overall["timeToDecisionSeconds"]!["p90"])};
                to a rollback: median {Minutes(overall["timeToRollbackSeconds"]!["median"])}.</p>
                <p>Decided by {DecidedBy(overall["decidedBy"], ReleaseEvidence.Sequential, "sequential evidence")}; by {DecidedBy(overall["decidedBy"], ReleaseEvidence.MannWhitney, "Mann–Whitney metrics")};
                by {DecidedBy(overall["decidedBy"], ReleaseEvidence.Both, "both kinds")}; by {DecidedBy(overall["decidedBy"], ReleaseEvidence.Other, "neither (no evidence, a canary never ready, an abort, no analysis)")}.</p>

                """);
        }

        foreach (var (_, title, png) in charts)
        {
            html.Append(CultureInfo.InvariantCulture, $"<img alt=\"{E(title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\">\n");
        }

        html.Append("<h2>By service</h2>\n<table><tr><th>service</th><th class=\"num\">started</th><th class=\"num\">promoted</th><th class=\"num\">rolled back</th><th class=\"num\">running</th><th class=\"num\">rollback rate</th><th class=\"num\">median time to decision</th></tr>\n");
        foreach (var (service, node) in report["services"]!.AsObject())
        {
            var s = node!.AsObject();
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(service)}</td><td class=\"num\">{s["started"]}</td><td class=\"num\">{s["promoted"]}</td><td class=\"num\">{s["rolledBack"]}</td><td class=\"num\">{s["running"]}</td><td class=\"num\">{Percent(s["rollbackRate"])}</td><td class=\"num\">{Minutes(s["timeToDecisionSeconds"]!["median"])}</td></tr>\n");
        }

        html.Append("</table>\n<h2>Rollback rate, last weeks</h2>\n<table><tr><th>week</th><th class=\"num\">promoted</th><th class=\"num\">rolled back</th><th class=\"num\">rate</th></tr>\n");
        foreach (var week in report["trend"]!.AsArray())
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(Text(week!["week"]))}</td><td class=\"num\">{week["promoted"]}</td><td class=\"num\">{week["rolledBack"]}</td><td class=\"num\">{Percent(week["rollbackRate"])}</td></tr>\n");
        }

        html.Append("</table>\n<h2>Rolled-back releases</h2>\n");
        var rolledBack = report["rolledBack"]!.AsArray();
        if (rolledBack.Count == 0)
        {
            html.Append("<p>None.</p>\n");
        }
        else
        {
            html.Append("<table><tr><th>service</th><th>revision</th><th>started</th><th class=\"num\">at weight</th><th class=\"num\">after</th><th>what failed, by how much</th></tr>\n");
            foreach (var r in rolledBack)
            {
                var failed = string.Join("<br>", r!["failingMetrics"]!.AsArray().Select(m =>
                    $"{E(Text(m!["metric"]))}: {E(Text(m["classification"]))}{(m["meanRatio"] is JsonValue v && v.TryGetValue<double>(out var ratio) ? $" (×{ratio.ToString("0.##", CultureInfo.InvariantCulture)})" : string.Empty)}"));
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(Text(r["service"]))}</td><td>{E(Text(r["revision"]))}</td><td>{E(Text(r["started"]))}</td><td class=\"num\">{r["failedAtWeight"]} %</td><td class=\"num\">{Minutes(r["timeToRollbackSeconds"])}</td><td>{(failed.Length == 0 ? E(Text(r["reason"])) : failed)}</td></tr>\n");
            }

            html.Append("</table>\n");
            // Each sequential metric's evidence of the first releases rolled back (the page stays readable for a bad week).
            var drawn = rolledBack.Take(MaxEvidenceCharts).Select((r, i) => (Release: r!, Html: ReleaseEvidence.Charts(r!["evidence"], $"evidence-{i}"))).Where(c => c.Html.Length > 0).ToList();
            if (drawn.Count > 0)
            {
                html.Append("<h3>The evidence of rolled-back releases</h3>\n");
                foreach (var (release, svg) in drawn)
                {
                    html.Append(CultureInfo.InvariantCulture, $"<p>{E(Text(release["service"]))} {E(Text(release["revision"]))}, started {E(Text(release["started"]))}:</p>\n{svg}");
                }
            }
        }

        html.Append("<h2>Metrics</h2>\n");
        List("Failed most often (typical effect size: the median ratio of experiment to control)", overall["failingMetrics"]!.AsArray(),
            m => $"{E(Text(m["metric"]))}: {m["failures"]} failed analyses in {m["releases"]} releases{(m["medianMeanRatio"] is JsonValue v && v.TryGetValue<double>(out var ratio) ? $", ×{ratio.ToString("0.##", CultureInfo.InvariantCulture)}" : string.Empty)}", html);
        List("Passed and failed within the same release (likely noisy: candidates for tuning)", overall["noisyMetrics"]!.AsArray(),
            m => $"{E(Text(m["metric"]))}: {m["releases"]} releases", html);
        List("Never had data this week", overall["metricsWithoutData"]!.AsArray(), m => $"{E(Text(m["service"]))}: {E(Text(m["metric"]))}", html);

        var interventions = overall["interventions"]!.AsObject();
        var faults = overall["inconclusiveFromFaults"]!.AsObject();
        html.Append(CultureInfo.InvariantCulture, $"""
            <h2>Manual interventions and faults</h2>
            <p>{interventions["total"]} commands by hand ({E(string.Join(", ", interventions["byCommand"]!.AsObject().Select(c => $"{c.Key} {c.Value}")))}).
            Analyses without evidence because Prometheus failed: {faults["prometheus"]}; ticks without evidence because Kubernetes could not be read: {faults["kubernetes"]}.</p>
            </body></html>

            """);
        return html.ToString();
    }

    /// <summary>The rolled-back releases whose evidence is drawn, at most.</summary>
    private const int MaxEvidenceCharts = 50;

    private static string DecidedBy(JsonNode? by, string method, string what) =>
        by?[method] is JsonObject m
            ? $"{what}: {m["releases"]} releases ({m["promoted"]} promoted, {m["rolledBack"]} rolled back{(m["medianTimeToRollbackSeconds"] is JsonValue ? $", median time to rollback {Minutes(m["medianTimeToRollbackSeconds"])}" : string.Empty)})"
            : $"{what}: –";

    private static void List(string title, JsonArray items, Func<JsonNode, string> line, StringBuilder html)
    {
        html.Append(CultureInfo.InvariantCulture, $"<h3>{E(title)}</h3>\n");
        html.Append(items.Count == 0 ? "<p>None.</p>\n" : $"<ul>{string.Concat(items.Take(20).Select(i => $"<li>{line(i!)}</li>"))}</ul>\n");
    }

    private static string Percent(JsonNode? rate) => rate is JsonValue v && v.TryGetValue<double>(out var r) ? (r * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %" : "–";

    private static string Minutes(JsonNode? seconds) => seconds is JsonValue v && v.TryGetValue<double>(out var s) ? (s / 60).ToString("0.#", CultureInfo.InvariantCulture) + " min" : "–";

    private static string Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString() ?? "–";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
