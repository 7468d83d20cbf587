using Canary.Analyzer.Rollouts;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;

namespace Canary.Analyzer.Api;

/// <summary>
/// The dashboard: server-rendered pages with a little JavaScript (no build step). `/` lists the
/// rollouts and refreshes their phase, weight and score every two seconds from the API; a
/// rollout's page draws its weight over time, lists each analysis's metrics and, for operators,
/// has Approve and Abort; an analysis's page draws both cohorts' series and distributions per
/// metric. Signing in puts the token in an HttpOnly, SameSite=Strict cookie.
/// </summary>
internal static class Dashboard
{
    private const string Style = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328 }
        header { background: #24292f; color: #fff; padding: .6em 1.5em; display: flex; gap: 1.5em; align-items: center }
        header a { color: #fff; text-decoration: none; font-weight: 600 } header form { margin-left: auto }
        main { padding: 1em 1.5em; max-width: 80em }
        table { border-collapse: collapse; width: 100% } th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #d0d7de; vertical-align: top }
        th { background: #f6f8fa; position: sticky; top: 0 } .num { text-align: right; font-variant-numeric: tabular-nums }
        .Succeeded, .Pass { color: #1a7f37 } .Failed, .Fail, .High, .Low, .NoDataFailure, .Error { color: #cf222e } .Progressing, .Promoting, .Finalising { color: #0969da }
        .WaitingPromotion, .Marginal, .Inconclusive { color: #9a6700 } .muted { color: #656d76 }
        button { font: inherit; padding: .35em 1em; border-radius: 6px; border: 1px solid #d0d7de; background: #f6f8fa; cursor: pointer }
        button.danger { color: #cf222e } .charts { display: flex; gap: 1em; flex-wrap: wrap } svg { background: #fff; border: 1px solid #d0d7de }
        input[type=search], input[type=password] { font: inherit; padding: .3em .5em; width: 22em }
        """;

    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", ListAsync).ExcludeFromDescription();
        app.MapGet("/rollouts/{ns}/{name}", RolloutAsync).ExcludeFromDescription().RequireRateLimiting(ApiHosting.HistoryReads);
        app.MapGet("/analyses/{id:guid}", AnalysisAsync).ExcludeFromDescription().RequireRateLimiting(ApiHosting.HistoryReads);
        app.MapGet("/reports", ReportsAsync).ExcludeFromDescription();
        app.MapPost("/signin", SignInAsync).ExcludeFromDescription().DisableAntiforgery();
        app.MapPost("/signout", (HttpContext context, ApiAccess access) =>
        {
            // Like sign-in, only this site's own page may sign a browser out (no logout CSRF).
            if (!ApiSecurity.SameOrigin(context, access.Options))
            {
                return Page(context, "Sign out", "<h1>Sign out from this site's own page</h1>", StatusCodes.Status403Forbidden);
            }

            context.Response.Cookies.Delete(ApiAccess.Cookie);
            return Results.Redirect("/");
        }).ExcludeFromDescription().DisableAntiforgery();
    }

    private static async Task<IResult> ListAsync(HttpContext context, ApiAccess access, IAnalysisStore store, CancellationToken token)
    {
        if (access.Check(context, ApiRole.Viewer, read: true) is not null)
        {
            return SignInPage(context);
        }

        var rollouts = await store.ListRolloutsAsync(token);
        var rows = new StringBuilder();
        foreach (var rollout in rollouts)
        {
            var state = rollout.ReadState();
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr data-key="{E(rollout.Key)}"><td><a href="/rollouts/{E(rollout.Key)}">{E(rollout.Key)}</a></td><td class="phase {state.Phase}">{state.Phase}</td><td class="num weight">{state.CanaryWeight} %</td><td class="num score">{Score(state.LastScore)}</td><td class="muted updated">{AnalysisDocument.Format(rollout.UpdatedAt)}</td></tr>

                """);
        }

        var body = $$"""
            <h1>Rollouts</h1>
            <p><input type="search" id="filter" placeholder="filter by namespace/name or phase" aria-label="filter"> <span id="count" class="muted">{{rollouts.Count}} rollouts</span></p>
            <table id="rollouts"><thead><tr><th>rollout</th><th>phase</th><th class="num">canary weight</th><th class="num">last score</th><th>updated</th></tr></thead>
            <tbody>
            {{rows}}</tbody></table>
            <script>
            // Live: phase, weight and score every two seconds from the API; new rollouts are added, deleted ones removed.
            const body = document.querySelector('#rollouts tbody'), filter = document.getElementById('filter'), count = document.getElementById('count');
            const esc = s => String(s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
            function apply() {
              const q = filter.value.toLowerCase(); let shown = 0;
              for (const row of body.rows) { const on = !q || row.textContent.toLowerCase().includes(q); row.hidden = !on; if (on) shown++; }
              count.textContent = shown + ' of ' + body.rows.length + ' rollouts';
            }
            async function refresh() {
              try {
                const answer = await fetch('/api/v1/rollouts', { credentials: 'same-origin' });
                if (!answer.ok) return;
                const { items } = await answer.json();
                const seen = new Set();
                for (const r of items) {
                  const key = r.namespace + '/' + r.name; seen.add(key);
                  let row = body.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
                  if (!row) {
                    row = body.insertRow(); row.dataset.key = key;
                    row.innerHTML = `<td><a href="/rollouts/${esc(key)}">${esc(key)}</a></td><td class="phase"></td><td class="num weight"></td><td class="num score"></td><td class="muted updated"></td>`;
                  }
                  const phase = row.querySelector('.phase'); phase.textContent = r.phase; phase.className = 'phase ' + r.phase;
                  row.querySelector('.weight').textContent = r.weight + ' %';
                  row.querySelector('.score').textContent = r.lastScore == null ? '–' : (Math.round(r.lastScore * 10) / 10);
                  row.querySelector('.updated').textContent = r.updatedAt;
                }
                for (const row of [...body.rows]) if (!seen.has(row.dataset.key)) row.remove();
                apply();
              } finally { setTimeout(refresh, 2000); }
            }
            filter.addEventListener('input', apply); apply(); setTimeout(refresh, 2000);
            </script>
            """;
        return Page(context, "Rollouts", body);
    }

    private static async Task<IResult> RolloutAsync(string ns, string name, HttpContext context, ApiAccess access, IAnalysisStore store, IRolloutCommands commands, CancellationToken token)
    {
        if (access.Check(context, ApiRole.Viewer, read: true) is not null)
        {
            return SignInPage(context);
        }

        var key = Rollouts.RolloutKey.Of(ns, name);
        if (await store.GetRolloutAsync(key, token) is not { } rollout)
        {
            return Page(context, "Not found", $"<h1>No rollout {E(key)}</h1>", StatusCodes.Status404NotFound);
        }

        // The newest of each (?decisions= and ?analyses= page back): a page never grows with the history.
        var query = context.Request.Query;
        var olderDecisions = query["decisions"].ToString() is { Length: > 0 } d ? d : null;
        var olderAnalyses = query["analyses"].ToString() is { Length: > 0 } a ? a : null;
        Page<DecisionRecord> decisions;
        Page<AnalysisSummary> analyses;
        try
        {
            decisions = await store.DecisionsAsync(key, new PageRequest(After: olderDecisions), token);
            analyses = await store.AnalysisSummariesAsync(key, new PageRequest(After: olderAnalyses), token);
        }
        catch (ArgumentException)
        {
            return Page(context, "Bad request", "<h1>That page link is not valid</h1><p><a href=\"/\">Back to the rollouts</a></p>", StatusCodes.Status400BadRequest);
        }

        var weights = await store.WeightHistoryAsync(key, RolloutEndpoints.MaxWeightPoints, token);
        var state = rollout.ReadState();
        // From the release's start; a state saved before it was kept: the last release found back from the rollout's last tick.
        var evidence = await DashboardEvidence.ReleaseAsync(store, key, state.ReleaseSince, state.ReleaseSince is null ? rollout.UpdatedAt : DateTimeOffset.MaxValue, TimeSpan.Zero, token);
        var operate = ApiAccess.CallerOf(context).Role >= ApiRole.Operator;
        var steps = commands.Steps(key) is { } stepWeights ? string.Join(" → ", stepWeights.Select(w => $"{w} %")) : "–";
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"""
            <h1>{E(key)}</h1>
            <p><span class="{state.Phase}" id="phase">{state.Phase}</span> · canary weight <b id="weight">{state.CanaryWeight} %</b> · last score {Score(state.LastScore)}
             · revision {E(state.Revision ?? "–")} (primary {E(state.PrimaryRevision ?? "–")}) · steps {E(steps)} · failed checks {state.FailedChecks}{(state.Paused ? " · <b>paused</b>" : string.Empty)}</p>

            """);
        if (operate)
        {
            html.Append(CultureInfo.InvariantCulture, $$"""
                <p><button id="approve" data-command="approve" data-ns="{{E(ns)}}" data-name="{{E(name)}}">Approve</button> <button id="abort" class="danger" data-command="abort" data-ns="{{E(ns)}}" data-name="{{E(name)}}">Abort</button>
                <button data-command="pause" data-ns="{{E(ns)}}" data-name="{{E(name)}}">Pause</button> <button data-command="resume" data-ns="{{E(ns)}}" data-name="{{E(name)}}">Resume</button> <span id="sent" class="muted"></span></p>
                <script>
                for (const button of document.querySelectorAll('button[data-command]')) button.addEventListener('click', async () => {
                  const sent = document.getElementById('sent');
                  const answer = await fetch('/api/v1/rollouts/' + encodeURIComponent(button.dataset.ns) + '/' + encodeURIComponent(button.dataset.name) + '/' + button.dataset.command,
                    { method: 'POST', credentials: 'same-origin', headers: { '{{ApiAccess.RequestHeader}}': '1' } });
                  sent.textContent = answer.ok ? button.dataset.command + ' sent; the rollout carries it out at its next tick' : 'refused: ' + (await answer.json()).detail;
                  if (answer.ok) setTimeout(() => location.reload(), 1500);
                });
                </script>

                """);
        }

        html.Append("<h2>Canary weight over time</h2>\n").Append(weights.Count == 0
            ? "<p class=\"muted\">No decision yet.</p>\n"
            : Reports.WeightChart.Svg([.. weights.Select(w => ((w.At - weights[0].At).TotalSeconds, w.Weight))], (weights[^1].At - weights[0].At).TotalSeconds, 760, 180,
                $"{AnalysisDocument.Format(weights[0].At)} … {AnalysisDocument.Format(weights[^1].At)}", "weights"));
        if (evidence.Count > 0)
        {
            html.Append("<h2>Evidence of this release</h2>\n").Append(Reports.EvidenceChart.Release(evidence, 760, "evidence"));
        }

        html.Append("<h2>Analyses</h2>\n");
        html.Append("<table><thead><tr><th>at</th><th>verdict</th><th class=\"num\">score</th><th>metric</th><th>classification</th><th>interval (experiment − control)</th><th>reason</th></tr></thead><tbody>\n");
        foreach (var analysis in analyses.Items)
        {
            var rows = Math.Max(1, analysis.Metrics.Count);
            var lead = $"<td rowspan=\"{rows}\"><a href=\"/analyses/{analysis.Id}\">{AnalysisDocument.Format(analysis.At)}</a></td><td rowspan=\"{rows}\" class=\"{E(analysis.Verdict)}\">{E(analysis.Verdict)}</td><td rowspan=\"{rows}\" class=\"num\">{Score(analysis.Score)}</td>";
            if (analysis.Metrics.Count == 0)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr>{lead}<td colspan=\"3\"></td><td>{E(analysis.Reason)}</td></tr>\n");
                continue;
            }

            foreach (var metric in analysis.Metrics)
            {
                var interval = metric.Lower is { } lower && metric.Upper is { } upper ? $"{DashboardCharts.Number(lower)} … {DashboardCharts.Number(upper)}" : "–";
                html.Append(CultureInfo.InvariantCulture, $"<tr>{lead}<td>{E(metric.Name)}</td><td class=\"{E(metric.Classification)}\">{E(metric.Classification)}</td><td class=\"num\">{E(interval)}</td><td>{E(metric.Reason)}</td></tr>\n");
                lead = string.Empty;
            }
        }

        html.Append("</tbody></table>\n").Append(Older(key, "analyses", analyses.Next, olderDecisions));
        html.Append("<h2>Decisions</h2>\n<table><thead><tr><th>at</th><th>phase</th><th class=\"num\">weight</th><th>verdict</th><th>reason</th></tr></thead><tbody>\n");
        foreach (var decision in decisions.Items)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{AnalysisDocument.Format(decision.At)}</td><td class=\"{E(decision.Phase)}\">{E(decision.Phase)}</td><td class=\"num\">{decision.CanaryWeight} %</td><td>{E(decision.Verdict)}</td><td>{E(decision.Reason)}</td></tr>\n");
        }

        html.Append("</tbody></table>\n").Append(Older(key, "decisions", decisions.Next, olderAnalyses));
        return Page(context, key, html.ToString());
    }

    private static async Task<IResult> AnalysisAsync(Guid id, HttpContext context, ApiAccess access, IAnalysisStore store, CancellationToken token)
    {
        if (access.Check(context, ApiRole.Viewer, read: true) is not null)
        {
            return SignInPage(context);
        }

        JsonNode? result;
        string title;
        var evidence = string.Empty;
        if (await store.GetAnalysisAsync(id, token) is { } analysis)
        {
            result = JsonNode.Parse(analysis.ResultJson);
            title = $"Analysis of {analysis.RolloutKey} at {AnalysisDocument.Format(analysis.At)}";
            evidence = result is null ? string.Empty : await DashboardEvidence.OfAnalysisAsync(store, analysis, result, token);
        }
        else if (await store.GetRequestedAnalysisAsync(id, token) is { } requested)
        {
            // A requested analysis: its last judgement.
            result = (requested.ResultJson is null ? null : JsonNode.Parse(requested.ResultJson))?["judgements"]?.AsArray().LastOrDefault();
            title = $"Analysis of {requested.Service} ({requested.Status}) requested {AnalysisDocument.Format(requested.CreatedAt)}";
        }
        else
        {
            return Page(context, "Not found", $"<h1>No analysis {id}</h1>", StatusCodes.Status404NotFound);
        }

        var html = new StringBuilder($"<h1>{E(title)}</h1>\n");
        if (result is null)
        {
            return Page(context, title, html.Append("<p>No result yet.</p>").ToString());
        }

        html.Append(CultureInfo.InvariantCulture, $"<p class=\"{E(result["classification"]?.ToString() ?? string.Empty)}\">{E(result["classification"]?.ToString() ?? "–")}, score {Score(result["score"] is JsonValue s && s.TryGetValue<double>(out var v) ? v : null)}: {E(result["reason"]?.ToString() ?? string.Empty)}</p>\n");
        html.Append(evidence.Length > 0 ? evidence : DashboardEvidence.OwnIntervals(result));
        var series = result["series"] as JsonObject;
        foreach (var metric in (result["metrics"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = metric["name"]?.GetValue<string>() ?? "?";
            var classification = metric["classification"]?.GetValue<string>() ?? "?";
            html.Append(CultureInfo.InvariantCulture, $"<h2>{E(name)} <span class=\"{E(classification)}\">{E(classification)}</span></h2>\n<p>{E(metric["reason"]?.GetValue<string>() ?? string.Empty)}</p>\n");
            if (series?[name] is JsonObject pair)
            {
                var control = DashboardCharts.Values(pair["control"]);
                var experiment = DashboardCharts.Values(pair["experiment"]);
                html.Append("<div class=\"charts\">").Append(DashboardCharts.Series(control, experiment)).Append(DashboardCharts.Distribution(control, experiment)).Append("</div>\n");
            }
            else
            {
                html.Append("<p class=\"muted\">The samples were not kept for this analysis.</p>\n");
            }
        }

        return Page(context, title, html.ToString());
    }

    private static async Task<IResult> ReportsAsync(HttpContext context, ApiAccess access, IAnalysisStore store, CancellationToken token)
    {
        if (access.Check(context, ApiRole.Viewer, read: true) is not null)
        {
            return SignInPage(context);
        }

        var weeks = await store.ReportWeeksAsync(token);
        var items = weeks.Count == 0
            ? "<p>No report yet: they are made every Monday (Canary:Reports:Cron), or by hand with <code>canary report</code>.</p>"
            : $"<ul>{string.Concat(weeks.Select(w => $"<li><a href=\"/api/v1/reports/{E(w)}\">{E(w)}</a> (<a href=\"/api/v1/reports/{E(w)}?format=json\">JSON</a>)</li>"))}</ul>";
        return Page(context, "Weekly reports", $"<h1>Weekly reports</h1>\n{items}");
    }

    private static async Task<IResult> SignInAsync(HttpContext context, ApiAccess access)
    {
        // Only this site's own form may sign a browser in (no login CSRF from another origin).
        if (!ApiSecurity.SameOrigin(context, access.Options))
        {
            return Page(context, "Sign in", SignInForm("Sign in from this site's own page."), StatusCodes.Status403Forbidden);
        }

        if (!context.Request.HasFormContentType)
        {
            return Page(context, "Sign in", SignInForm("Send the sign-in form."), StatusCodes.Status400BadRequest);
        }

        var form = await context.Request.ReadFormAsync();
        var token = form["token"].ToString();
        if (token.Length == 0 || access.Find(token) is null)
        {
            return Page(context, "Sign in", SignInForm("That token is not known."), StatusCodes.Status401Unauthorized);
        }

        context.Response.Cookies.Append(ApiAccess.Cookie, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            // Behind a TLS-terminating proxy the request arrives as http: X-Forwarded-Proto says it was https.
            Secure = context.Request.IsHttps || string.Equals(context.Request.Headers["X-Forwarded-Proto"], "https", StringComparison.OrdinalIgnoreCase),
            Path = "/",
        });
        var back = form["back"].ToString();
        // A local path only: not //host, not /\host (which browsers read as //host), no control characters.
        var local = back.StartsWith('/') && back.Length > 0 && (back.Length == 1 || (back[1] != '/' && back[1] != '\\')) && !back.Any(char.IsControl);
        return Results.Redirect(local ? LocalUrl(back) : "/");
    }

    /// <summary>A local path as a Location header may carry it: characters beyond ASCII (and spaces) percent-encoded as UTF-8, escapes already there kept.</summary>
    private static string LocalUrl(string path)
    {
        var url = new StringBuilder(path.Length);
        Span<byte> bytes = stackalloc byte[4];
        foreach (var rune in path.EnumerateRunes())
        {
            if (rune.Value is > 0x20 and < 0x7F)
            {
                url.Append((char)rune.Value);
            }
            else
            {
                foreach (var b in bytes[..rune.EncodeToUtf8(bytes)])
                {
                    url.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
                }
            }
        }

        return url.ToString();
    }

    // The path as the browser sent it (escaped), so the form takes the user back to the same page.
    private static IResult SignInPage(HttpContext context) =>
        Page(context, "Sign in", SignInForm(null, context.Request.PathBase.Add(context.Request.Path).ToUriComponent() + context.Request.QueryString.ToUriComponent()), StatusCodes.Status401Unauthorized);

    private static string SignInForm(string? error, string back = "/") => $"""
        <h1>Sign in</h1>
        {(error is null ? string.Empty : $"<p class=\"Failed\">{E(error)}</p>")}
        <form method="post" action="/signin"><p><input type="password" name="token" placeholder="API token" aria-label="API token" autofocus>
        <input type="hidden" name="back" value="{E(back)}"> <button type="submit">Sign in</button></p></form>
        <p class="muted">A token of canary's API (Api:Tokens); it is kept in an HttpOnly cookie for this site only.</p>
        """;

    private static IResult Page(HttpContext context, string title, string body, int status = StatusCodes.Status200OK)
    {
        var signedIn = context.Request.Cookies.ContainsKey(ApiAccess.Cookie);
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)} · canary</title><link rel="icon" href="data:,"><style>{Style}</style></head>
            <body><header><a href="/">canary</a><a href="/">rollouts</a><a href="/reports">weekly reports</a>{(signedIn ? "<form method=\"post\" action=\"/signout\"><button type=\"submit\">Sign out</button></form>" : string.Empty)}</header>
            <main>
            {body}
            </main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    /// <summary>The link to the page of older rows (the other list stays where it is), or nothing on the last page.</summary>
    private static string Older(string key, string list, string? next, string? other)
    {
        if (next is null)
        {
            return string.Empty;
        }

        var otherList = list == "decisions" ? "analyses" : "decisions";
        var keep = other is null ? string.Empty : $"&{otherList}={Uri.EscapeDataString(other)}";
        return $"<p><a class=\"older\" id=\"older-{list}\" href=\"/rollouts/{E(key)}?{list}={Uri.EscapeDataString(next)}{E(keep)}\">older {list} →</a></p>\n";
    }

    private static string Score(double? score) => score is { } s ? s.ToString("0.#", CultureInfo.InvariantCulture) : "–";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
