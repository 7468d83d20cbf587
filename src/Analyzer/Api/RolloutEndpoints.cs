using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Api;

/// <summary>
/// /api/v1/rollouts: the list, one rollout with its newest decisions and analyses (pages of
/// ?limit=, default 50, at most 500; ?after= the "next" of the page before), the full analyses, and
/// the commands. No answer grows with a rollout's history: the weight history is at most 500 points.
/// </summary>
internal static partial class RolloutEndpoints
{
    /// <summary>The most points of a weight chart, however long the history.</summary>
    public const int MaxWeightPoints = 500;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void MapRollouts(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/rollouts", ListAsync).WithName("listRollouts").WithSummary("Every rollout: phase, weight, last score.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapGet("/rollouts/{ns}/{name}", GetAsync).WithName("getRollout").RequireRateLimiting(ApiHosting.HistoryReads)
            .WithSummary("One rollout: phase, weight, steps, its weight over time (at most 500 points), and the newest decisions and analyses (?limit, default 50, at most 500) with the cursors of the older ones.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapGet("/rollouts/{ns}/{name}/decisions", DecisionsAsync).WithName("listRolloutDecisions").RequireRateLimiting(ApiHosting.HistoryReads).WithSummary("A rollout's decisions, newest first; page with ?limit and ?after=NEXT.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapGet("/rollouts/{ns}/{name}/analyses", AnalysesAsync).WithName("listRolloutAnalyses").RequireRateLimiting(ApiHosting.HistoryReads).WithSummary("A rollout's analyses (verdict, score, metric classifications), newest first; page with ?limit and ?after=NEXT.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapGet("/rollouts/{ns}/{name}/analyses/{id:guid}", AnalysisAsync).WithName("getRolloutAnalysis").RequireRateLimiting(ApiHosting.HistoryReads).WithSummary("One analysis of a rollout in full: the Judge's output with the samples, and the rendered queries.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        foreach (var command in new[] { RolloutCommand.Approve, RolloutCommand.Abort, RolloutCommand.Pause, RolloutCommand.Resume })
        {
            var word = command.ToString().ToLowerInvariant();
            api.MapPost($"/rollouts/{{ns}}/{{name}}/{word}", (string ns, string name, IRolloutCommands commands, ILoggerFactory log, HttpContext context, CancellationToken token) => CommandAsync(ns, name, command, commands, log, context, token))
                .WithName(word).WithSummary($"{command} the rollout (operator); the next tick, run at once, carries it out.")
                .RequireRole(ApiRole.Operator, read: false).Produces<JsonObject>(StatusCodes.Status202Accepted);
        }
    }

    /// <summary>?limit= and ?after= of a page, or the problem naming the parameter.</summary>
    public static (PageRequest? Page, IResult? Problem) PageOf(HttpRequest request, string after = "after")
    {
        ArgumentNullException.ThrowIfNull(request);
        var limit = PageRequest.DefaultLimit;
        if (request.Query["limit"].ToString() is { Length: > 0 } text
            && !(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= PageRequest.MaxLimit))
        {
            return (null, Problems.Field("limit", $"must be a whole number from 1 to {PageRequest.MaxLimit}"));
        }

        var cursor = request.Query[after].ToString();
        return (new PageRequest(limit, cursor.Length > 0 ? cursor : null), null);
    }

    private static async Task<IResult> ListAsync(IAnalysisStore store, CancellationToken token) =>
        Results.Json(new { items = (await store.ListRolloutsAsync(token)).Select(Summary) }, Json);

    private static async Task<IResult> GetAsync(string ns, string name, HttpContext context, IAnalysisStore store, IRolloutCommands commands, CancellationToken token)
    {
        var key = Rollouts.RolloutKey.Of(ns, name);
        var (limit, problem) = PageOf(context.Request);
        if (problem is not null)
        {
            return problem;
        }

        // The detail starts at the newest; older rows are behind its next links.
        var page = limit! with { After = null };
        if (await store.GetRolloutAsync(key, token) is not { } rollout)
        {
            return NotFound(key);
        }

        var decisions = await store.DecisionsAsync(key, page, token);
        var analyses = await store.AnalysisSummariesAsync(key, page, token);
        var weights = await store.WeightHistoryAsync(key, MaxWeightPoints, token);
        var summary = Summary(rollout);
        summary["steps"] = new JsonArray([.. (commands.Steps(key) ?? []).Select(w => JsonValue.Create(w))]);
        summary["weightHistory"] = new JsonArray([.. weights.Select(w => (JsonNode)new JsonObject { ["at"] = AnalysisDocument.Format(w.At), ["weight"] = w.Weight })]);
        summary["decisions"] = new JsonArray([.. decisions.Items.Select(d => (JsonNode)Decision(d))]);
        summary["decisionsNext"] = Next($"/api/v1/rollouts/{ns}/{name}/decisions", page.Limit, decisions.Next);
        summary["analyses"] = new JsonArray([.. analyses.Items.Select(a => (JsonNode)AnalysisSummary(ns, name, a))]);
        summary["analysesNext"] = Next($"/api/v1/rollouts/{ns}/{name}/analyses", page.Limit, analyses.Next);
        return Results.Json(summary, Json);
    }

    private static Task<IResult> DecisionsAsync(string ns, string name, HttpContext context, IAnalysisStore store, CancellationToken token) =>
        PageAnswerAsync(context, page => store.DecisionsAsync(Rollouts.RolloutKey.Of(ns, name), page, token), Decision);

    private static Task<IResult> AnalysesAsync(string ns, string name, HttpContext context, IAnalysisStore store, CancellationToken token) =>
        PageAnswerAsync(context, page => store.AnalysisSummariesAsync(Rollouts.RolloutKey.Of(ns, name), page, token), a => AnalysisSummary(ns, name, a));

    /// <summary>One page as {items, next}; a bad limit or cursor is a problem naming it.</summary>
    private static async Task<IResult> PageAnswerAsync<T>(HttpContext context, Func<PageRequest, Task<Page<T>>> read, Func<T, JsonObject> write)
    {
        var (page, problem) = PageOf(context.Request);
        if (problem is not null)
        {
            return problem;
        }

        try
        {
            var rows = await read(page!);
            return Results.Json(new JsonObject { ["items"] = new JsonArray([.. rows.Items.Select(r => (JsonNode)write(r))]), ["next"] = rows.Next }, Json);
        }
        catch (ArgumentException e)
        {
            return Problems.Field("after", e.Message.Split(" (Parameter", 2)[0]);
        }
    }

    private static async Task<IResult> AnalysisAsync(string ns, string name, Guid id, IAnalysisStore store, CancellationToken token) =>
        await store.GetAnalysisAsync(id, token) is { } analysis && analysis.RolloutKey == Rollouts.RolloutKey.Of(ns, name)
            ? Results.Json(Analysis(analysis), Json)
            : Problems.Of(StatusCodes.Status404NotFound, "Not found", $"rollout {Rollouts.RolloutKey.Of(ns, name)} has no analysis {id}");

    private static async Task<IResult> CommandAsync(string ns, string name, RolloutCommand command, IRolloutCommands commands, ILoggerFactory log, HttpContext context, CancellationToken token)
    {
        try
        {
            if (!await commands.SendAsync(ns, name, command, token))
            {
                return Problems.Of(StatusCodes.Status404NotFound, "Not found", $"no Canary {ns}/{name} is known");
            }
        }
        catch (Kubernetes.KubernetesWriteException e)
        {
            return Problems.Of(StatusCodes.Status503ServiceUnavailable, "Kubernetes unavailable", $"the command could not be written to the Canary: {e.Message}");
        }

        var logger = log.CreateLogger("Canary.Api");
        var caller = ApiAccess.CallerOf(context).Name;
        CommandSent(logger, command, ns, name, caller);
        return Results.Json(new { rollout = Rollouts.RolloutKey.Of(ns, name), command = command.ToString().ToLowerInvariant(), status = "sent" }, Json, statusCode: StatusCodes.Status202Accepted);
    }

    private static IResult NotFound(string key) => Problems.Of(StatusCodes.Status404NotFound, "Not found", $"no rollout {key}");

    private static string? Next(string path, int limit, string? next) =>
        next is null ? null : $"{path}?limit={limit.ToString(CultureInfo.InvariantCulture)}&after={Uri.EscapeDataString(next)}";

    internal static JsonObject Summary(StoredRollout rollout)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        var state = rollout.ReadState();
        var slash = rollout.Key.IndexOf('/', StringComparison.Ordinal);
        return new JsonObject
        {
            ["namespace"] = rollout.Key[..slash],
            ["name"] = rollout.Key[(slash + 1)..],
            ["phase"] = state.Phase.ToString(),
            ["weight"] = state.CanaryWeight,
            ["lastScore"] = state.LastScore,
            ["revision"] = state.Revision,
            ["primaryRevision"] = state.PrimaryRevision,
            ["failedChecks"] = state.FailedChecks,
            ["paused"] = state.Paused,
            ["updatedAt"] = AnalysisDocument.Format(rollout.UpdatedAt),
        };
    }

    private static JsonObject Decision(DecisionRecord d) => new()
    {
        ["id"] = d.Id.ToString(),
        ["at"] = AnalysisDocument.Format(d.At),
        ["phase"] = d.Phase,
        ["weight"] = d.CanaryWeight,
        ["verdict"] = d.Verdict,
        ["reason"] = d.Reason,
        ["actions"] = JsonNode.Parse(d.ActionsJson),
        ["analysisId"] = d.AnalysisId?.ToString(),
        ["revision"] = d.Revision,
        ["commands"] = d.Commands,
        ["commandId"] = d.CommandId,
        ["fault"] = d.Fault,
        ["warnings"] = d.Warnings is null ? null : new JsonArray([.. d.Warnings.Split('\n').Select(w => (JsonNode)w)]),
    };

    /// <summary>An analysis without its samples and queries: verdict, score, reason and each metric's classification.</summary>
    private static JsonObject AnalysisSummary(string ns, string name, AnalysisSummary a) => new()
    {
        ["id"] = a.Id.ToString(),
        ["at"] = AnalysisDocument.Format(a.At),
        ["verdict"] = a.Verdict,
        ["score"] = a.Score,
        ["inconclusive"] = a.Inconclusive,
        ["reason"] = a.Reason,
        ["metrics"] = new JsonArray([.. a.Metrics.Select(m => (JsonNode)new JsonObject { ["name"] = m.Name, ["classification"] = m.Classification })]),
        ["location"] = $"/api/v1/rollouts/{ns}/{name}/analyses/{a.Id}",
    };

    internal static JsonObject Analysis(AnalysisRecord a) => new()
    {
        ["id"] = a.Id.ToString(),
        ["rollout"] = a.RolloutKey,
        ["at"] = AnalysisDocument.Format(a.At),
        ["verdict"] = a.Verdict,
        ["score"] = a.Score,
        ["inconclusive"] = a.Inconclusive,
        ["result"] = JsonNode.Parse(a.ResultJson),
        ["queries"] = JsonNode.Parse(a.QueriesJson),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "API: {Command} sent to rollout {Namespace}/{Name} by {Caller}")]
    private static partial void CommandSent(ILogger logger, RolloutCommand command, string @namespace, string name, string caller);
}
