using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Canary.Analyzer.Judging;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Storage;
using Canary.Judge;
using Canary.Judge.Results;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Api;

/// <summary>How the judgements of a multi-interval analysis grow (Kayenta's default) or slide.</summary>
public enum JudgementWindow
{
    Growing,
    Sliding,
}

/// <summary>
/// An analysis request, read and checked: the config, the cohorts, the window and, for the
/// multi-interval form (Kayenta's canary analysis execution), one judgement every Interval.
/// </summary>
public sealed record AnalysisRequest(
    string Service, CanaryConfig Config, Cohorts Cohorts, DateTimeOffset Start, DateTimeOffset End, TimeSpan Step, TimeSpan? Interval, JudgementWindow Window, bool FailFast)
{
    /// <summary>The judgements' windows: one over the whole window, or one per interval (growing from the start, or sliding).</summary>
    public IReadOnlyList<AnalysisWindow> Judgements()
    {
        if (Interval is not { } every)
        {
            return [new AnalysisWindow(Start, End, Step)];
        }

        var windows = new List<AnalysisWindow>();
        for (var end = Start + every; end <= End + TimeSpan.FromTicks(every.Ticks / 1000); end += every)
        {
            var clipped = end > End ? End : end;
            windows.Add(new AnalysisWindow(Window == JudgementWindow.Growing ? Start : clipped - every, clipped, Step));
        }

        return windows;
    }
}

/// <summary>Reads POST /api/v1/analyses bodies; every problem names its field.</summary>
public static class AnalysisRequestReader
{
    private static readonly string[] Fields =
        ["service", "config", "configName", "control", "experiment", "start", "end", "lifetime", "step", "variables", "interval", "window", "failFast"];

    /// <summary>The request, or the problems; configName is resolved by lookup (null when no such config).</summary>
    public static async Task<(AnalysisRequest? Request, IReadOnlyList<FieldProblem> Problems)> ReadAsync(
        byte[] body, TemplateLibrary templates, Func<string, Task<string?>> lookup, ApiOptions limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        ArgumentNullException.ThrowIfNull(limits);
        DocumentNode root;
        try
        {
            root = DocumentNode.ParseJson(body);
        }
        catch (DocumentException e)
        {
            return (null, [new FieldProblem("body", e.Reason, e.Line)]);
        }

        var fields = new DocumentFields();
        var problems = new List<FieldProblem>();
        if (!fields.Object(root, string.Empty, Fields))
        {
            return (null, Convert(fields));
        }

        var service = fields.String(root, string.Empty, "service", string.Empty);
        if (service.Length == 0)
        {
            fields.Problem("service", "is required: the name the analysis is kept under (e.g. the service or the release)", root.Line);
        }

        var control = fields.String(root, string.Empty, "control", string.Empty);
        var experiment = fields.String(root, string.Empty, "experiment", string.Empty);
        foreach (var (cohort, value) in new[] { ("control", control), ("experiment", experiment) })
        {
            if (value.Length == 0)
            {
                fields.Problem(cohort, "is required: the label matchers of the cohort, e.g. version=\"v1\"", root.Line);
            }
        }

        var variables = fields.StringMap(root, string.Empty, "variables");
        CanaryConfig? config = null;
        var templateProblems = new List<string>();
        var inline = fields.Get(root, string.Empty, "config");
        var name = root["configName"] is null ? null : fields.String(root, string.Empty, "configName", string.Empty);
        if (inline is not null && name is not null)
        {
            fields.Problem("configName", "give either config (inline) or configName, not both", root["configName"]!.Line);
        }
        else if (inline is not null)
        {
            config = CanaryConfigReader.ReadNode(inline, "config", fields, templates, variables, templateProblems);
        }
        else if (name is not null)
        {
            if (await lookup(name) is not { } text)
            {
                problems.Add(new FieldProblem("configName", $"no config is named \"{DocumentNode.Shorten(name)}\" (PUT /api/v1/configs/{{name}} adds one)"));
            }
            else
            {
                try
                {
                    config = CanaryConfigReader.Read(name, text, templates, variables);
                }
                catch (Cli.InputException e)
                {
                    problems.AddRange(e.Problems.Select(p => new FieldProblem("configName", $"the stored config is no longer valid: {p}")));
                }
            }
        }
        else
        {
            fields.Problem("config", "is required: the canary config inline, or configName for a stored one", root.Line);
        }

        var start = Time(root, fields, "start", null, time);
        var end = Time(root, fields, "end", "now", time);
        if (root["lifetime"] is not null)
        {
            if (root["end"] is not null)
            {
                fields.Problem("lifetime", "give either end or lifetime, not both", root["lifetime"]!.Line);
            }
            else if (start is { } from && Duration(root, fields, "lifetime") is { } lifetime)
            {
                if (lifetime > limits.MaxWindow)
                {
                    fields.Problem("lifetime", $"{Cli.TimeArguments.Format(lifetime)} is longer than the {Cli.TimeArguments.Format(limits.MaxWindow)} allowed (Api:MaxWindow)", root["lifetime"]!.Line);
                }
                else
                {
                    end = from + lifetime;
                }
            }
        }

        var step = root["step"] is null ? null : Duration(root, fields, "step");
        var interval = root["interval"] is null ? null : Duration(root, fields, "interval");
        var window = fields.Enum(root, string.Empty, "window", JudgementWindow.Growing);
        var failFast = fields.Boolean(root, string.Empty, "failFast", false);
        problems.InsertRange(0, Convert(fields));
        problems.AddRange(templateProblems.Select(p => new FieldProblem("config", p)));
        if (problems.Count > 0 || config is null || start is null || end is null)
        {
            return (null, problems.Count > 0 ? problems : [new FieldProblem("start", "is required: an RFC 3339 time or now-30m")]);
        }

        var realStep = step ?? (PromQl.TryParseDuration(config.Step, out var configured) ? configured : TimeSpan.FromSeconds(30));
        // A real-time analysis may wait for its windows, but not beyond MaxWindow from now (and no time near the calendar's end).
        if (end.Value > time.GetUtcNow() + limits.MaxWindow)
        {
            return (null, [new FieldProblem(root["lifetime"] is null ? "end" : "lifetime", $"ends after now + {Cli.TimeArguments.Format(limits.MaxWindow)} (Api:MaxWindow); a real-time analysis may wait that long at most")]);
        }

        var request = new AnalysisRequest(service, config, new Cohorts(control, experiment), start.Value, end.Value, realStep, interval, window, failFast);
        return Check(request, limits) is { } bound ? (null, [bound]) : (request, []);
    }

    /// <summary>The bounds: a window that ends after it starts, at most MaxWindow long, judgements of at most MaxSteps steps, at most MaxIntervals of them.</summary>
    private static FieldProblem? Check(AnalysisRequest request, ApiOptions limits)
    {
        if (request.End <= request.Start)
        {
            return new FieldProblem("end", $"{request.End:O} is not after start {request.Start:O}");
        }

        if (request.End - request.Start > limits.MaxWindow)
        {
            return new FieldProblem("start", $"the window of {Cli.TimeArguments.Format(request.End - request.Start)} is longer than the {Cli.TimeArguments.Format(limits.MaxWindow)} allowed (Api:MaxWindow)");
        }

        if (request.Step <= TimeSpan.Zero)
        {
            return new FieldProblem("step", "must be positive");
        }

        if (request.Interval is { } interval)
        {
            if (interval < request.Step)
            {
                return new FieldProblem("interval", $"{Cli.TimeArguments.Format(interval)} is shorter than the step {Cli.TimeArguments.Format(request.Step)}");
            }

            if ((request.End - request.Start) / interval > limits.MaxIntervals)
            {
                return new FieldProblem("interval", $"makes {(int)((request.End - request.Start) / interval)} judgements; at most {limits.MaxIntervals} are allowed (Api:MaxIntervals)");
            }

            if (interval > request.End - request.Start)
            {
                return new FieldProblem("interval", $"{Cli.TimeArguments.Format(interval)} is longer than the window");
            }
        }

        var longest = request.Judgements().Max(w => w.Steps);
        return longest > AnalysisWindow.MaxSteps
            ? new FieldProblem("step", $"{Cli.TimeArguments.Format(request.Step)} gives {longest} steps in a judgement; Prometheus allows {AnalysisWindow.MaxSteps}: use a larger step or a shorter window")
            : null;
    }

    private static DateTimeOffset? Time(DocumentNode root, DocumentFields fields, string name, string? fallback, TimeProvider time)
    {
        var text = fields.String(root, string.Empty, name, fallback ?? string.Empty);
        if (text.Length == 0)
        {
            fields.Problem(name, "is required: an RFC 3339 time (2026-11-28T08:00:00Z) or now-30m", root.Line);
            return null;
        }

        try
        {
            return Cli.TimeArguments.ParseTime(name, text, time);
        }
        catch (Cli.InputException e)
        {
            fields.Problem(name, e.Problems[0].StartsWith(name + ": ", StringComparison.Ordinal) ? e.Problems[0][(name.Length + 2)..] : e.Problems[0], root[name]?.Line ?? root.Line);
            return null;
        }
    }

    private static TimeSpan? Duration(DocumentNode root, DocumentFields fields, string name)
    {
        var text = fields.String(root, string.Empty, name, string.Empty);
        if (PromQl.TryParseDuration(text, out var duration) && duration > TimeSpan.Zero)
        {
            return duration;
        }

        fields.Problem(name, $"\"{DocumentNode.Shorten(text)}\" is not a duration such as 30s, 10m or 1h", root[name]?.Line ?? root.Line);
        return null;
    }

    private static List<FieldProblem> Convert(DocumentFields fields) =>
        [.. fields.Problems.OrderBy(p => p.Line).Select(p => new FieldProblem(p.Path, p.Reason, p.Line > 0 ? p.Line : null))];
}

/// <summary>
/// Runs requested analyses in the background, a few at once: each judgement fetches both cohorts
/// from Prometheus and judges them; a judgement whose window ends in the future waits for it (a
/// real-time canary, as Kayenta runs them). The record moves Running → Succeeded (verdict of the
/// last judgement) or Failed (why: Prometheus down, a rejected query), and is saved at each step.
/// </summary>
public sealed partial class AnalysisRunner(IAnalysisStore store, PrometheusClient prometheus, ApiOptions options, TimeProvider time, ILogger<AnalysisRunner> log) : IHostedService, IDisposable
{
    /// <summary>How often a running analysis tells the store it is alive; one silent for a few of these is taken for lost.</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim slots = new(Math.Max(1, options.ConcurrentAnalyses));
    private readonly CancellationTokenSource stopping = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, Task> running = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, RequestedAnalysis> records = new();
    private ITimer? heartbeat;

    /// <summary>Analyses accepted and not finished in this process (running, waiting for their windows or for a slot).</summary>
    public int Pending => running.Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Analyses whose replica stopped beating (crashed, stopped) are marked Failed, by whichever replica notices first.
        heartbeat = time.CreateTimer(_ => _ = BeatAsync(), null, TimeSpan.Zero, Heartbeat);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (heartbeat is not null)
        {
            await heartbeat.DisposeAsync();
        }

        await stopping.CancelAsync();
        await Task.WhenAll(running.Values).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        heartbeat?.Dispose();
        slots.Dispose();
        stopping.Dispose();
    }

    /// <summary>Saves the record as Running and starts it; returns once it is saved.</summary>
    public async Task<RequestedAnalysis> StartAsync(AnalysisRequest request, string requestJson, string caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        var record = new RequestedAnalysis(Guid.NewGuid(), request.Service, now, now, RequestedAnalysis.Running, null, null, requestJson, null, null, caller);
        await store.SaveRequestedAnalysisAsync(record, cancellationToken);
        records[record.Id] = record;
        var task = Task.Run(() => RunAsync(record, request), CancellationToken.None);
        running[record.Id] = task;
        _ = task.ContinueWith(t => running.TryRemove(record.Id, out _), TaskScheduler.Default);
        return record;
    }

    private async Task BeatAsync()
    {
        try
        {
            var now = time.GetUtcNow();
            foreach (var record in records.Values.Where(r => r.Status == RequestedAnalysis.Running))
            {
                await store.TouchRequestedAnalysisAsync(record.Id, now, stopping.Token);
            }

            var abandoned = await store.AbandonRunningAnalysesAsync("canary stopped while the analysis ran; ask again", now - (3 * Heartbeat), stopping.Token);
            if (abandoned > 0)
            {
                Abandoned(log, abandoned);
            }
        }
        catch (Exception e) when (e is System.Data.Common.DbException or OperationCanceledException or ObjectDisposedException)
        {
            // The next beat tries again.
        }
    }

    private async Task RunAsync(RequestedAnalysis record, AnalysisRequest request)
    {
        var token = stopping.Token;
        var judgements = new JsonArray();
        try
        {
            JudgeResult? last = null;
            foreach (var window in request.Judgements())
            {
                // Waiting for a window of a real-time analysis holds no slot; only judging does.
                var wait = window.End - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, token);
                }

                await slots.WaitAsync(token);
                (JudgeResult Result, JsonNode Json) judged;
                try
                {
                    judged = await JudgeAsync(request, window, token);
                }
                finally
                {
                    slots.Release();
                }

                // Only the last judgement keeps its samples: a growing window repeats them all.
                if (judgements.Count > 0 && judgements[^1] is JsonObject previous)
                {
                    previous.Remove("series");
                }

                judgements.Add(judged.Json);
                last = judged.Result;
                record = record with { UpdatedAt = time.GetUtcNow(), Verdict = last.Classification.ToString(), Score = last.Score, ResultJson = Result(judgements) };
                records[record.Id] = record;
                await store.SaveRequestedAnalysisAsync(record, token);
                if (request.FailFast && last.Classification != AnalysisClassification.Pass)
                {
                    break;
                }
            }

            record = record with { Status = RequestedAnalysis.Succeeded, UpdatedAt = time.GetUtcNow(), Verdict = last?.Classification.ToString(), Score = last?.Score, ResultJson = Result(judgements) };
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            record = Failed(record, "canary stopped while the analysis ran; ask again", judgements);
        }
#pragma warning disable CA1031 // Whatever failed, the analysis is marked Failed with the reason; it is never left Running.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var reason = e is MetricsSourceException or SeriesShapeException or ArgumentException or Cli.InputException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            record = Failed(record, reason, judgements);
        }

        records.TryRemove(record.Id, out _);
        try
        {
            await store.SaveRequestedAnalysisAsync(record, CancellationToken.None);
            Finished(log, record.Id, record.Service, record.Status, record.Verdict ?? "-", record.Error ?? string.Empty);
        }
        catch (System.Data.Common.DbException e)
        {
            // Its heartbeat stops, so another look marks it Failed.
            SaveFailed(log, record.Id, e.Message);
        }
    }

    /// <summary>Failed: the reason, the judgements made so far, and no verdict (docs/api.md).</summary>
    private RequestedAnalysis Failed(RequestedAnalysis record, string reason, JsonArray judgements) =>
        record with { Status = RequestedAnalysis.Failed, UpdatedAt = time.GetUtcNow(), Error = reason, Verdict = null, Score = null, ResultJson = Result(judgements) };

    private async Task<(JudgeResult Result, JsonNode Json)> JudgeAsync(AnalysisRequest request, AnalysisWindow window, CancellationToken cancellationToken)
    {
        var config = request.Config;
        var queries = MetricCollector.Render(config, request.Cohorts, config.Interval);
        var source = new PrometheusMetricSource(prometheus);
        var series = await MetricCollector.CollectAsync(source, config, queries, window, 8, cancellationToken);
        var result = CanaryJudge.Judge(config.Judge, series);
        var warnings = source.Warnings.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        using var buffer = new MemoryStream();
        JudgeDocumentWriter.Write(buffer, result, writer =>
        {
            AnalysisDocument.WriteWindow(writer, window, config.Interval);
            AnalysisDocument.WriteQueries(writer, config, queries);
            AnalysisDocument.WriteSeries(writer, series.Values);
            if (warnings.Count > 0)
            {
                writer.WriteStartArray("warnings");
                warnings.ForEach(writer.WriteStringValue);
                writer.WriteEndArray();
            }
        });
        return (result, JsonNode.Parse(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length))!);
    }

    private static string Result(JsonArray judgements) => new JsonObject { ["judgements"] = judgements.DeepClone() }.ToJsonString();

    [LoggerMessage(Level = LogLevel.Information, Message = "analysis {Id} of {Service}: {Status}, verdict {Verdict} {Error}")]
    private static partial void Finished(ILogger logger, Guid id, string service, string status, string verdict, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "analysis {Id}: its result cannot be saved: {Error}")]
    private static partial void SaveFailed(ILogger logger, Guid id, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} requested analyses were running when canary stopped; they are marked Failed")]
    private static partial void Abandoned(ILogger logger, int count);
}
