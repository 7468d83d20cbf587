using System.Text;
using System.Text.Json;
using Canary.Analyzer.Judging;
using Canary.Analyzer.Metrics;
using Canary.Judge;
using Canary.Judge.Results;

namespace Canary.Analyzer.Rollouts;

/// <summary>One analysis of a rollout as recorded: the outcome the state machine reads, the Judge's output and the queries (JSON).</summary>
public sealed record RolloutAnalysis(AnalysisOutcome Outcome, string ResultJson, string QueriesJson);

/// <summary>
/// Runs a rollout's analysis: renders the canary config for the two cohorts, fetches the window from
/// the metrics source, enforces the minimum sample count and judges. Anything that leaves no
/// evidence — a source error, a query Prometheus rejects, too few samples, the Judge's
/// inconclusive — is an Inconclusive outcome with its reason, never a pass.
/// </summary>
public sealed class RolloutAnalyzer(IMetricSource source, int concurrency = 8)
{
    public async Task<RolloutAnalysis> AnalyzeAsync(CanaryResource resource, CanaryConfig config, Cohorts cohorts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(config);
        var step = PromQl.TryParseDuration(config.Step, out var parsed) ? parsed : TimeSpan.FromSeconds(30);
        var window = new AnalysisWindow(now - resource.Window, now, step);
        IReadOnlyDictionary<string, RenderedQuery> queries;
        try
        {
            queries = MetricCollector.Render(config, cohorts, config.Interval);
        }
        catch (ArgumentException e)
        {
            return Inconclusive($"the queries cannot be rendered: {e.Message}", "{}");
        }

        var queriesJson = JsonSerializer.Serialize(queries.ToDictionary(q => q.Key, q => new { control = q.Value.Control, experiment = q.Value.Experiment }));
        Dictionary<string, Judge.Config.MetricSeries> series;
        try
        {
            series = await MetricCollector.CollectAsync(source, config, queries, window, concurrency, cancellationToken);
        }
        catch (MetricsSourceException e)
        {
            return Inconclusive($"the metrics source failed: {e.Message}", queriesJson);
        }
        catch (SeriesShapeException e)
        {
            return Inconclusive(e.Message, queriesJson);
        }

        var thin = series.Values
            .Select(s => (s.Metric, Count: Math.Min(s.Control.Count(double.IsFinite), s.Experiment.Count(double.IsFinite))))
            .Where(s => s.Count < resource.MinSamples && config.Judge.Metrics.Any(m => m.Name == s.Metric && !m.Muted))
            .ToList();
        var result = CanaryJudge.Judge(config.Judge, series);
        var resultJson = Write(result, series.Values);
        if (thin.Count > 0)
        {
            var names = string.Join(", ", thin.Select(t => $"{t.Metric} ({t.Count})"));
            return new RolloutAnalysis(new AnalysisOutcome(AnalysisVerdict.Inconclusive, result.Score, $"fewer than {resource.MinSamples} samples: {names}"), resultJson, queriesJson);
        }

        if (result.Inconclusive)
        {
            return new RolloutAnalysis(new AnalysisOutcome(AnalysisVerdict.Inconclusive, result.Score, result.Reason), resultJson, queriesJson);
        }

        var verdict = result.Classification switch
        {
            AnalysisClassification.Pass => AnalysisVerdict.Pass,
            AnalysisClassification.Marginal => AnalysisVerdict.Marginal,
            _ => AnalysisVerdict.Fail,
        };
        return new RolloutAnalysis(new AnalysisOutcome(verdict, result.Score, result.Reason), resultJson, queriesJson);
    }

    private static RolloutAnalysis Inconclusive(string reason, string queriesJson) =>
        new(new AnalysisOutcome(AnalysisVerdict.Inconclusive, null, reason), JsonSerializer.Serialize(new { inconclusive = true, reason }), queriesJson);

    /// <summary>The Judge's output with both cohorts' samples (for the dashboard's analysis page).</summary>
    private static string Write(JudgeResult result, IEnumerable<Judge.Config.MetricSeries> series)
    {
        using var buffer = new MemoryStream();
        JudgeDocumentWriter.Write(buffer, result, writer => AnalysisDocument.WriteSeries(writer, series));
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
