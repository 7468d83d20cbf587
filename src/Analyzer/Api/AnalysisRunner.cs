using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Storage;
using Canary.Judge;
using Canary.Judge.Results;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Api;

/// <summary>Why an analysis was not accepted now, and when to ask again (seconds, for Retry-After).</summary>
internal sealed record AnalysisRefusal(string Detail, int RetryAfterSeconds);

/// <summary>
/// Runs requested analyses in the background, a few at once: each judgement fetches both cohorts
/// from Prometheus and judges them; a judgement whose window ends in the future waits for it (a
/// real-time canary, as Kayenta runs them). The record moves Running → Succeeded (verdict of the
/// last judgement), Failed (why: Prometheus down, a rejected query) or Cancelled (its caller or an
/// admin stopped it), and is saved at each step. Each caller may have a few unfinished at once
/// (Api:MaxPendingAnalysesPerCaller) and the process a bounded number (Api:MaxPendingAnalyses, which
/// never refuses an admin), so no caller can lock the others out.
/// </summary>
internal sealed partial class AnalysisRunner(IAnalysisStore store, PrometheusClient prometheus, ApiOptions options, TimeProvider time, ILogger<AnalysisRunner> log) : IHostedService, IDisposable
{
    /// <summary>How often a running analysis tells the store it is alive; one silent for a few of these is taken for lost.</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim slots = new(Math.Max(1, options.ConcurrentAnalyses));
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<Guid, Run> running = new();
    private readonly Lock admission = new();
    private ITimer? heartbeat;

    /// <summary>Analyses accepted and not finished in this process (running, waiting for their windows or for a slot); a cancelled one no longer counts.</summary>
    public int Pending => running.Values.Count(r => !r.Stopping);

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
        await Task.WhenAll(running.Values.Select(r => r.Task)).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        heartbeat?.Dispose();
        slots.Dispose();
        stopping.Dispose();
        foreach (var run in running.Values)
        {
            run.Cancel.Dispose();
        }
    }

    /// <summary>Saves the record as Running and starts it; or, over a limit, says which and when to ask again.</summary>
    public async Task<(RequestedAnalysis? Record, AnalysisRefusal? Refusal)> StartAsync(AnalysisRequest request, string requestJson, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        var now = time.GetUtcNow();
        var record = new RequestedAnalysis(Guid.NewGuid(), request.Service, now, now, RequestedAnalysis.Running, null, null, requestJson, null, null, caller.Name);
        var run = new Run(caller.Name, request.End, new CancellationTokenSource());
        lock (admission)
        {
            var mine = running.Values.Where(r => r.Caller == caller.Name && !r.Stopping).ToList();
            if (mine.Count >= options.MaxPendingAnalysesPerCaller)
            {
                run.Cancel.Dispose();
                return (null, new AnalysisRefusal(
                    $"the token \"{caller.Name}\" has {mine.Count} unfinished analyses here, the most Api:MaxPendingAnalysesPerCaller ({options.MaxPendingAnalysesPerCaller}) allows; wait for one, or DELETE one you no longer need",
                    RetryAfter(mine, now)));
            }

            var all = running.Values.Where(r => !r.Stopping).ToList();
            if (all.Count >= options.MaxPendingAnalyses && caller.Role < ApiRole.Admin)
            {
                run.Cancel.Dispose();
                return (null, new AnalysisRefusal(
                    $"{all.Count} analyses are unfinished here, the most Api:MaxPendingAnalyses ({options.MaxPendingAnalyses}) allows for callers below admin; ask again when some are done",
                    RetryAfter(all, now)));
            }

            running[record.Id] = run;
        }

        try
        {
            await store.SaveRequestedAnalysisAsync(record, cancellationToken);
        }
        catch
        {
            running.TryRemove(record.Id, out _);
            run.Cancel.Dispose();
            throw;
        }

        run.Record = record;
        run.Task = Task.Run(() => RunAsync(run, request), CancellationToken.None);
        return (record, null);
    }

    /// <summary>Stops a running analysis: here at once, and in the store (another replica running it stops at its next heartbeat). False when it was not running.</summary>
    public async Task<bool> CancelAsync(Guid id, string by, CancellationToken cancellationToken)
    {
        var cancelled = await store.CancelRequestedAnalysisAsync(id, $"cancelled by {by}", time.GetUtcNow(), cancellationToken);
        if (running.TryGetValue(id, out var run))
        {
            await StopAsync(run, by);
        }

        return cancelled;
    }

    /// <summary>Cancels a run: its place is free at once (a caller at its limit may start another), while stopping waits for it to end.</summary>
    private static async Task StopAsync(Run run, string by)
    {
        run.CancelledBy ??= by;
        run.Stopping = true;
        try
        {
            await run.Cancel.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // It finished meanwhile.
        }
    }

    private static int RetryAfter(IReadOnlyList<Run> runs, DateTimeOffset now)
    {
        // The soonest that one of them can end: its last window's end (a historical analysis: a few seconds).
        var soonest = runs.Count == 0 ? TimeSpan.Zero : runs.Min(r => r.End - now);
        return (int)Math.Clamp(Math.Ceiling(soonest.TotalSeconds), 5, 3600);
    }

    private async Task BeatAsync()
    {
        try
        {
            var now = time.GetUtcNow();
            foreach (var (id, run) in running)
            {
                // Cancelled (or failed) elsewhere: stop here too.
                if (run.Record is not null && !run.Stopping && !await store.TouchRequestedAnalysisAsync(id, now, stopping.Token))
                {
                    await StopAsync(run, "another replica");
                }
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

    private async Task RunAsync(Run run, AnalysisRequest request)
    {
        var record = run.Record!;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token, run.Cancel.Token);
        var token = linked.Token;
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
                await store.SaveRequestedAnalysisAsync(record, token);
                if (request.FailFast && last.Classification != AnalysisClassification.Pass)
                {
                    break;
                }
            }

            record = record with { Status = RequestedAnalysis.Succeeded, UpdatedAt = time.GetUtcNow(), Verdict = last?.Classification.ToString(), Score = last?.Score, ResultJson = Result(judgements) };
        }
        catch (OperationCanceledException) when (run.Cancel.IsCancellationRequested)
        {
            record = Ended(record, RequestedAnalysis.Cancelled, $"cancelled by {run.CancelledBy ?? "its caller"}", judgements);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            record = Ended(record, RequestedAnalysis.Failed, "canary stopped while the analysis ran; ask again", judgements);
        }
#pragma warning disable CA1031 // Whatever failed, the analysis is marked Failed with the reason; it is never left Running.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var reason = e is MetricsSourceException or SeriesShapeException or ArgumentException or Documents.InputException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            record = Ended(record, RequestedAnalysis.Failed, reason, judgements);
        }

        try
        {
            // A cancelled analysis stays cancelled in the store, whatever this save says.
            await store.SaveRequestedAnalysisAsync(record, CancellationToken.None);
            Finished(log, record.Id, record.Service, record.Status, record.Verdict ?? "-", record.Error ?? string.Empty);
        }
        catch (System.Data.Common.DbException e)
        {
            // Its heartbeat stops, so another look marks it Failed.
            SaveFailed(log, record.Id, e.Message);
        }
        finally
        {
            running.TryRemove(record.Id, out _);
            run.Cancel.Dispose();
        }
    }

    /// <summary>Failed or Cancelled: the reason, the judgements made so far, and no verdict (docs/api.md).</summary>
    private RequestedAnalysis Ended(RequestedAnalysis record, string status, string reason, JsonArray judgements) =>
        record with { Status = status, UpdatedAt = time.GetUtcNow(), Error = reason, Verdict = null, Score = null, ResultJson = Result(judgements) };

    private async Task<(JudgeResult Result, JsonNode Json)> JudgeAsync(AnalysisRequest request, AnalysisWindow window, CancellationToken cancellationToken)
    {
        var config = request.Config;
        var queries = MetricAnalysis.Render(config, request.Cohorts, config.Interval, IntervalWindow.Steps(window.Start, window.End, window.Step).Range);
        var analysis = await MetricAnalysis.RunAsync(new PrometheusMetricSource(prometheus), config, queries, window, config.Interval, 8, cancellationToken);
        return (analysis.Judgement, JsonNode.Parse(analysis.ToJson(withSeries: true))!);
    }

    private static string Result(JsonArray judgements) => new JsonObject { ["judgements"] = judgements.DeepClone() }.ToJsonString();

    [LoggerMessage(Level = LogLevel.Information, Message = "analysis {Id} of {Service}: {Status}, verdict {Verdict} {Error}")]
    private static partial void Finished(ILogger logger, Guid id, string service, string status, string verdict, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "analysis {Id}: its result cannot be saved: {Error}")]
    private static partial void SaveFailed(ILogger logger, Guid id, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} requested analyses were running when canary stopped; they are marked Failed")]
    private static partial void Abandoned(ILogger logger, int count);

    /// <summary>One unfinished analysis of this process: whose, until when, and how to stop it.</summary>
    private sealed class Run(string caller, DateTimeOffset end, CancellationTokenSource cancel)
    {
        public string Caller { get; } = caller;

        public DateTimeOffset End { get; } = end;

        public CancellationTokenSource Cancel { get; } = cancel;

        public RequestedAnalysis? Record { get; set; }

        public Task Task { get; set; } = Task.CompletedTask;

        public string? CancelledBy { get; set; }

        /// <summary>Cancelled and ending: it no longer counts against any limit.</summary>
        public bool Stopping { get; set; }
    }
}
