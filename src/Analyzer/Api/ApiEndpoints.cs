using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Judge;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Canary.Analyzer.Api;

/// <summary>The HTTP API under /api/v1 (DESIGN: Api/): judge, analyses, rollouts and their commands, named configs.</summary>
internal static partial class ApiEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void MapCanaryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");
        api.MapJudge();
        api.MapPost("/analyses", StartAnalysisAsync).WithName("startAnalysis").WithSummary("Start an analysis over Prometheus; 202 with its id and location.")
            .RequireRole(ApiRole.Viewer, read: false).WithBody(Problems.JsonBody).Produces<JsonObject>(StatusCodes.Status202Accepted);
        api.MapGet("/analyses/{id:guid}", GetAnalysisAsync).WithName("getAnalysis").WithSummary("An analysis: its status and, when done, its judgements with the rendered queries.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapDelete("/analyses/{id:guid}", CancelAnalysisAsync).WithName("cancelAnalysis").WithSummary("Stop a running analysis (the token that asked for it, or an admin); it ends Cancelled.")
            .RequireRole(ApiRole.Viewer, read: false).Produces<JsonObject>();
        api.MapGet("/analyses", FindAnalysesAsync).WithName("findAnalyses").WithSummary("Requested analyses, newest first, by service, time and verdict; page with ?after=NEXT.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapRollouts();

        api.MapGet("/reports", async (IAnalysisStore store, CancellationToken token) =>
                Results.Json(new { items = (await store.ReportWeeksAsync(token)).Select(w => new { week = w, location = $"/api/v1/reports/{w}" }) }, Json))
            .WithName("listReports").WithSummary("The weekly reports kept, newest first.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapGet("/reports/{week}", GetReportAsync).WithName("getReport").WithSummary("A weekly report (2026-W47): HTML when the client accepts text/html, else JSON; ?format=json|html decides instead.")
            .RequireRole(ApiRole.Viewer, read: true);
        api.MapGet("/configs", ListConfigsAsync).WithName("listConfigs").WithSummary("The named canary configs.")
            .RequireRole(ApiRole.Viewer, read: true).Produces<JsonObject>();
        api.MapGet("/configs/{name}", GetConfigAsync).WithName("getConfig").WithSummary("A named canary config, as it was put (YAML or JSON).")
            .RequireRole(ApiRole.Viewer, read: true);
        api.MapPut("/configs/{name}", PutConfigAsync).WithName("putConfig").WithSummary("Create or replace a named canary config (admin); it is checked first.")
            .RequireRole(ApiRole.Admin, read: false).WithBody(Problems.DocumentBody);
        api.MapDelete("/configs/{name}", DeleteConfigAsync).WithName("deleteConfig").WithSummary("Delete a named canary config (admin).")
            .RequireRole(ApiRole.Admin, read: false);
    }

    /// <summary>POST /judge alone (the API maps it with the rest; the benchmark maps only it). Needs ApiAccess and ApiOptions as services.</summary>
    public static RouteHandlerBuilder MapJudge(this RouteGroupBuilder api) =>
        api.MapPost("/judge", JudgeAsync).WithName("judge").WithSummary("Judge a Judge-contract document (the input of `canary judge`); answers its output.")
            .RequireRole(ApiRole.Viewer, read: false).WithBody(Problems.JsonBody).Produces<JsonObject>();

    private static async Task<IResult> JudgeAsync(HttpContext context, ApiAccess access)
    {
        var (body, problem) = await Problems.ReadBodyAsync(context, access.Options.MaxBodyBytes);
        if (problem is not null)
        {
            return problem;
        }

        JudgeDocument document;
        try
        {
            document = JudgeDocumentReader.Read(body, "request");
        }
        catch (Documents.InputException e)
        {
            return Problems.Invalid(e);
        }

        var result = CanaryJudge.Judge(document.Config, document.Series);
        var output = new MemoryStream();
        JudgeDocumentWriter.Write(output, result);
        output.Position = 0;
        return Results.Stream(output, "application/json");
    }

    private static async Task<IResult> StartAnalysisAsync(HttpContext context, ApiAccess access, IAnalysisStore store, TemplateLibrary templates, AnalysisRunner runner, TimeProvider time, CancellationToken token)
    {
        var (body, problem) = await Problems.ReadBodyAsync(context, access.Options.MaxBodyBytes);
        if (problem is not null)
        {
            return problem;
        }

        var (request, problems) = await AnalysisRequestReader.ReadAsync(body!, templates, async name => (await store.GetConfigAsync(name, token))?.Body, access.Options, time);
        if (request is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "Bad request", string.Join("; ", problems.Select(p => $"{p.Field}: {p.Reason}")), problems);
        }

        // Inline PromQL reaches the whole Prometheus: it needs Api:InlineQueriesRole; below it, templates and named configs.
        var caller = ApiAccess.CallerOf(context);
        var inline = request.FromConfigName ? [] : request.Config.Metrics.Select((m, i) => (m, i)).Where(x => x.m.TemplateName is null).Select(x => x.i).ToList();
        if (inline.Count > 0 && caller.Role < access.Options.InlineQueriesRole)
        {
            var needed = access.Options.InlineQueriesRole.ToString().ToLowerInvariant();
            return Problems.Of(StatusCodes.Status403Forbidden, "Forbidden", $"inline PromQL needs the {needed} role (Api:InlineQueriesRole); the token \"{caller.Name}\" has {caller.Role.ToString().ToLowerInvariant()}: use templates, or a named config",
                [.. inline.Select(i => new FieldProblem($"config.metrics[{i}].query", $"inline PromQL needs the {needed} role"))]);
        }

        var (record, refusal) = await runner.StartAsync(request, Encoding.UTF8.GetString(body!), ApiAccess.CallerOf(context), token);
        if (refusal is not null)
        {
            context.Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Problems.Of(StatusCodes.Status429TooManyRequests, "Too many analyses", refusal.Detail);
        }

        var location = $"/api/v1/analyses/{record!.Id}";
        return new WithLocation(Results.Json(new { id = record.Id, status = record.Status, location }, Json, statusCode: StatusCodes.Status202Accepted), location);
    }

    private static async Task<IResult> CancelAnalysisAsync(Guid id, HttpContext context, IAnalysisStore store, AnalysisRunner runner, CancellationToken token)
    {
        if (await store.GetRequestedAnalysisAsync(id, token) is not { } analysis)
        {
            return Problems.Of(StatusCodes.Status404NotFound, "Not found", $"no analysis has the id {id}");
        }

        var caller = ApiAccess.CallerOf(context);
        if (caller.Name != analysis.RequestedBy && caller.Role < ApiRole.Admin)
        {
            return Problems.Of(StatusCodes.Status403Forbidden, "Forbidden", $"analysis {id} was asked for by \"{analysis.RequestedBy}\"; only that token or an admin may stop it");
        }

        if (analysis.Status != RequestedAnalysis.Running || !await runner.CancelAsync(id, caller.Name, token))
        {
            var now = await store.GetRequestedAnalysisAsync(id, token);
            return Problems.Of(StatusCodes.Status409Conflict, "Not running", $"analysis {id} is {now?.Status ?? analysis.Status}, not Running; there is nothing to stop");
        }

        return Results.Json(new { id, status = RequestedAnalysis.Cancelled, location = $"/api/v1/analyses/{id}" }, Json);
    }

    private static async Task<IResult> GetAnalysisAsync(Guid id, IAnalysisStore store, CancellationToken token) =>
        await store.GetRequestedAnalysisAsync(id, token) is { } analysis
            ? Results.Json(Describe(analysis, full: true), Json)
            : Problems.Of(StatusCodes.Status404NotFound, "Not found", $"no analysis has the id {id}");

    private static async Task<IResult> FindAnalysesAsync(HttpContext context, IAnalysisStore store, TimeProvider clock, CancellationToken token)
    {
        var q = context.Request.Query;
        var time = new FixedTime(clock.GetUtcNow());
        DateTimeOffset? Time(string name)
        {
            var text = q[name].ToString();
            return text.Length == 0 ? null : Documents.TimeArguments.ParseTime(name, text, time);
        }

        AnalysisQuery query;
        try
        {
            var limit = q["limit"].ToString() is { Length: > 0 } text
                ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 500 ? n : throw new Documents.InputException("limit: must be a whole number from 1 to 500")
                : 50;
            var verdict = q["verdict"].ToString() is { Length: > 0 } v
                ? Enum.TryParse<Canary.Judge.Results.AnalysisClassification>(v, ignoreCase: true, out var parsed) ? parsed.ToString() : throw new Documents.InputException($"verdict: \"{v}\" is not one of Pass, Marginal, Fail")
                : null;
            query = new AnalysisQuery(q["service"].ToString() is { Length: > 0 } s ? s : null, Time("from"), Time("to"), verdict, limit, q["after"].ToString() is { Length: > 0 } a ? a : null);
        }
        catch (Documents.InputException e)
        {
            var (field, reason) = Split(e.Problems[0]);
            return Problems.Field(field, reason);
        }

        try
        {
            var page = await store.FindRequestedAnalysesAsync(query, token);
            return Results.Json(new { items = page.Items.Select(a => Describe(a, full: false)), next = page.Next }, Json);
        }
        catch (ArgumentException e)
        {
            return Problems.Field("after", e.Message.Split(" (Parameter", 2)[0]);
        }
    }

    private static async Task<IResult> GetReportAsync(string week, HttpContext context, IAnalysisStore store, CancellationToken token)
    {
        if (await store.GetReportAsync(week, token) is not { } report)
        {
            return Problems.Of(StatusCodes.Status404NotFound, "Not found", $"no report of week \"{week}\" is kept (they are made on Mondays; canary report makes one by hand)");
        }

        // ?format=json|html wins over Accept (a browser link to the JSON sends Accept: text/html).
        var format = context.Request.Query["format"].ToString();
        var html = format.Length > 0 ? format == "html" : context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
        return html ? Results.Content(report.Html, "text/html; charset=utf-8", Encoding.UTF8) : Results.Text(report.Json, "application/json", Encoding.UTF8);
    }

    private static async Task<IResult> ListConfigsAsync(IAnalysisStore store, CancellationToken token) =>
        Results.Json(new { items = (await store.ListConfigsAsync(token)).Select(c => new { name = c.Name, updatedAt = AnalysisDocument.Format(c.UpdatedAt), updatedBy = c.UpdatedBy }) }, Json);

    private static async Task<IResult> GetConfigAsync(string name, IAnalysisStore store, CancellationToken token) =>
        await store.GetConfigAsync(name, token) is { } config
            ? Results.Text(config.Body, config.Body.TrimStart().StartsWith('{') ? "application/json" : "application/yaml")
            : Problems.Of(StatusCodes.Status404NotFound, "Not found", $"no config is named \"{name}\"");

    private static async Task<IResult> PutConfigAsync(string name, HttpContext context, ApiAccess access, IAnalysisStore store, TemplateLibrary templates, TimeProvider time, CancellationToken token)
    {
        if (!ConfigName().IsMatch(name))
        {
            return Problems.Field("name", $"\"{DocumentNode.Shorten(name)}\" is not a config name: lower-case letters, digits, '-' and '.', at most 63");
        }

        var (body, problem) = await Problems.ReadBodyAsync(context, access.Options.MaxBodyBytes);
        if (problem is not null)
        {
            return problem;
        }

        // Kept as sent: a byte that is not UTF-8 is refused at its place, never replaced.
        try
        {
            DocumentNode.CheckUtf8(body);
        }
        catch (DocumentException e)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "Bad request", $"body: {e.Reason}", [Problems.Syntax(e, "body")]);
        }

        var text = Encoding.UTF8.GetString(body!);
        var json = context.Request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;
        try
        {
            // Variables may be filled per analysis; the config itself must be sound.
            CanaryConfigReader.Read(json ? $"{name}.json" : $"{name}.yaml", text, templates);
        }
        catch (Documents.InputException e)
        {
            return Problems.Invalid(e, "body");
        }

        var created = await store.PutConfigAsync(new NamedConfig(name, text, time.GetUtcNow(), ApiAccess.CallerOf(context).Name), token);
        var location = $"/api/v1/configs/{name}";
        var result = Results.Json(new { name, location, created }, Json, statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        return created ? new WithLocation(result, location) : result;
    }

    private static async Task<IResult> DeleteConfigAsync(string name, IAnalysisStore store, CancellationToken token) =>
        await store.DeleteConfigAsync(name, token) ? Results.NoContent() : Problems.Of(StatusCodes.Status404NotFound, "Not found", $"no config is named \"{name}\"");

    private static JsonObject Describe(RequestedAnalysis a, bool full)
    {
        var json = new JsonObject
        {
            ["id"] = a.Id.ToString(),
            ["service"] = a.Service,
            ["status"] = a.Status,
            ["verdict"] = a.Verdict,
            ["score"] = a.Score,
            ["createdAt"] = AnalysisDocument.Format(a.CreatedAt),
            ["updatedAt"] = AnalysisDocument.Format(a.UpdatedAt),
            ["requestedBy"] = a.RequestedBy,
            ["error"] = a.Error,
            ["location"] = $"/api/v1/analyses/{a.Id}",
        };
        if (full)
        {
            json["request"] = JsonNode.Parse(a.RequestJson);
            json["result"] = a.ResultJson is null ? null : JsonNode.Parse(a.ResultJson);
        }

        return json;
    }

    private static (string Field, string Reason) Split(string problem) =>
        problem.IndexOf(": ", StringComparison.Ordinal) is var colon and > 0 ? (problem[..colon], problem[(colon + 2)..]) : ("query", problem);

    [GeneratedRegex("^[a-z0-9][-a-z0-9.]{0,62}\\z")]
    private static partial Regex ConfigName();

    /// <summary>A result with a Location header.</summary>
    private sealed class WithLocation(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
