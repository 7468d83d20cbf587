using System.Text.Json;
using Canary.Analyzer.Metrics;
using Canary.Judge.Results;

namespace Canary.Analyzer.Rollouts;

/// <summary>One analysis of a rollout as recorded: the outcome the state machine reads, the Judge's output and the queries (JSON), and Prometheus's warnings.</summary>
internal sealed record RolloutAnalysis(AnalysisOutcome Outcome, string ResultJson, string QueriesJson)
{
    /// <summary>Warnings Prometheus attached to this analysis's answers (a partial response shaped its verdict).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// Runs a rollout's analysis on the one analysis path (<see cref="MetricAnalysis"/>) over the window
/// that ends now, then applies the rollout's rule of evidence: anything that leaves none — a source
/// error, a query Prometheus rejects, too few samples, the Judge's inconclusive — is an Inconclusive
/// outcome with its reason, never a pass.
/// </summary>
internal sealed class RolloutAnalyzer(IMetricSource source, int concurrency = 8)
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
            queries = MetricAnalysis.Render(config, cohorts, config.Interval);
        }
        catch (Documents.InputException e)
        {
            return Inconclusive(string.Join("; ", e.Problems), "{}");
        }

        var queriesJson = JsonSerializer.Serialize(queries.ToDictionary(q => q.Key, q => new { control = q.Value.Control, experiment = q.Value.Experiment }));
        AnalysisResult analysis;
        try
        {
            analysis = await MetricAnalysis.RunAsync(source, config, queries, window, config.Interval, concurrency, cancellationToken);
        }
        catch (MetricsSourceException e)
        {
            return Inconclusive($"the metrics source failed: {e.Message}", queriesJson);
        }
        catch (SeriesShapeException e)
        {
            return Inconclusive(e.Message, queriesJson);
        }

        var result = analysis.Judgement;
        var thin = analysis.Series.Values
            .Select(s => (s.Metric, Count: Math.Min(s.Control.Count(double.IsFinite), s.Experiment.Count(double.IsFinite))))
            .Where(s => s.Count < resource.MinSamples && config.Judge.Metrics.Any(m => m.Name == s.Metric && !m.Muted))
            .ToList();
        var verdict = result.Classification switch
        {
            _ when thin.Count > 0 || result.Inconclusive => AnalysisVerdict.Inconclusive,
            AnalysisClassification.Pass => AnalysisVerdict.Pass,
            AnalysisClassification.Marginal => AnalysisVerdict.Marginal,
            _ => AnalysisVerdict.Fail,
        };
        var reason = thin.Count > 0 ? $"fewer than {resource.MinSamples} samples: {string.Join(", ", thin.Select(t => $"{t.Metric} ({t.Count})"))}" : result.Reason;
        return new RolloutAnalysis(new AnalysisOutcome(verdict, result.Score, reason), analysis.ToJson(withSeries: true), queriesJson) { Warnings = analysis.Warnings };
    }

    private static RolloutAnalysis Inconclusive(string reason, string queriesJson) =>
        new(new AnalysisOutcome(AnalysisVerdict.Inconclusive, null, reason), JsonSerializer.Serialize(new { inconclusive = true, reason }), queriesJson);
}
