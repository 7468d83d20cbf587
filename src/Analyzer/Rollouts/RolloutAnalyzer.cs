using System.Text.Json;
using Canary.Analyzer.Metrics;
using Canary.Judge.Config;
using Canary.Judge.Results;

namespace Canary.Analyzer.Rollouts;

/// <summary>One analysis of a rollout as recorded: the outcome the state machine reads, the Judge's output and the queries (JSON), and Prometheus's warnings.</summary>
internal sealed record RolloutAnalysis(AnalysisOutcome Outcome, string ResultJson, string QueriesJson)
{
    /// <summary>Warnings Prometheus attached to this analysis's answers (a partial response shaped its verdict).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// Runs a rollout's analysis on the one analysis path (<see cref="MetricAnalysis"/>): sampled metrics
/// over the window that ends now, sequential metrics over one interval from where the stored
/// evidence ends (never inside a warm-up) to now, fed to that evidence. Then the rollout's rules of
/// evidence (docs/rollouts.md): a sequential metric that crossed rolls back; anything that leaves no
/// evidence — a source error, a query Prometheus rejects, too few samples, no data, an interval
/// without requests in a cohort — is Inconclusive with its reason, never a pass and never a failure.
/// </summary>
internal sealed class RolloutAnalyzer(IMetricSource source, int concurrency = 8)
{
    /// <summary>The analysis of this tick; null when its sequential interval would be under a second (the first tick after a warm-up): nothing to count yet, no analysis.</summary>
    public async Task<RolloutAnalysis?> AnalyzeAsync(CanaryResource resource, CanaryConfig config, Cohorts cohorts, DateTimeOffset now, RolloutState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(state);
        var step = PromQl.TryParseDuration(config.Step, out var parsed) ? parsed : TimeSpan.FromSeconds(30);
        var window = new AnalysisWindow(now - resource.Window, now, step);
        var sequential = config.Metrics.Where(m => m.Template.Sequential).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        IntervalWindow? interval = null;
        if (sequential.Count > 0)
        {
            // From the end of the last interval counted, or from when the canary became ready; the warm-up after a traffic change is left out.
            var from = state.CountedUntil ?? state.WeightSince ?? now;
            var warm = (state.WeightSince ?? from) + resource.Rollout.WarmUp;
            from = from < warm ? warm : from;
            var seconds = Math.Floor((now - from).TotalSeconds);
            if (seconds < 1)
            {
                return null;
            }

            interval = IntervalWindow.Single(from, from + TimeSpan.FromSeconds(seconds));
        }

        IReadOnlyDictionary<string, RenderedQuery> queries;
        try
        {
            queries = MetricAnalysis.Render(config, cohorts, config.Interval, interval?.Range ?? config.Interval);
        }
        catch (Documents.InputException e)
        {
            return Inconclusive(string.Join("; ", e.Problems), "{}");
        }

        var queriesJson = JsonSerializer.Serialize(queries.ToDictionary(q => q.Key, q => new { control = q.Value.Control, experiment = q.Value.Experiment, controlExposure = q.Value.ControlExposure, experimentExposure = q.Value.ExperimentExposure }));
        AnalysisResult analysis;
        try
        {
            analysis = await MetricAnalysis.RunAsync(source, config, queries, window, config.Interval, concurrency, cancellationToken, interval, state.Evidence);
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
        var counted = result.Metrics.Where(m => !m.Muted && sequential.Contains(m.Name)).ToList();
        var idle = counted.Where(m => !BothCohortsServed(analysis.Series[m.Name].Sequential)).Select(m => m.Name).ToList();
        // An interval without requests in a cohort of every metric (no traffic, or Prometheus has not scraped twice in it) is not fed: the
        // next tick's interval starts where it did and counts those requests once. When only some metrics are idle, all are fed (the idle
        // ones gain nothing), so a crossing is never held back and no look is taken twice. A partial answer is not fed either.
        var partial = analysis.SequentialWarnings;
        var evidence = interval is null || partial.Count > 0 || (counted.Count > 0 && idle.Count == counted.Count) ? null : Stored(state, result, analysis.Series);
        var crossed = counted.Where(m => m.Classification is MetricClassification.High or MetricClassification.Low && m.Sequential?.CrossedAt is not null).ToList();
        var thin = analysis.Series.Values
            .Where(s => s.Sequential is null)
            .Select(s => (s.Metric, Count: Math.Min(s.Control.Count(double.IsFinite), s.Experiment.Count(double.IsFinite))))
            .Where(s => s.Count < resource.MinSamples && config.Judge.Metrics.Any(m => m.Name == s.Metric && !m.Muted))
            .ToList();
        var (verdict, reason) = true switch
        {
            _ when crossed.Count > 0 && evidence is not null => (AnalysisVerdict.Crossed, string.Join(" ", crossed.Select(m => m.Reason))),
            _ when partial.Count > 0 => (AnalysisVerdict.Inconclusive, $"Prometheus answered the sequential queries partially, so their counts are not kept: {string.Join("; ", partial)}"),
            _ when idle.Count > 0 => (AnalysisVerdict.Inconclusive, $"no requests in a cohort since {AnalysisDocument.Format(interval!.Start)}: {string.Join(", ", idle)}"),
            _ when thin.Count > 0 => (AnalysisVerdict.Inconclusive, $"fewer than {resource.MinSamples} samples: {string.Join(", ", thin.Select(t => $"{t.Metric} ({t.Count})"))}"),
            _ when result.Inconclusive => (AnalysisVerdict.Inconclusive, result.Reason),
            _ => (result.Classification switch
            {
                AnalysisClassification.Pass => AnalysisVerdict.Pass,
                AnalysisClassification.Marginal => AnalysisVerdict.Marginal,
                _ => AnalysisVerdict.Fail,
            }, result.Reason),
        };
        var early = verdict == AnalysisVerdict.Pass && resource.Rollout.PromoteEarlyBelow is { } below && counted.Count > 0
            && counted.All(m => m.Classification == MetricClassification.Pass && UpperBelow(m.Sequential, below));
        var outcome = new AnalysisOutcome(verdict, result.Score, reason)
        {
            PromoteEarly = early,
            Evidence = evidence,
            CountedUntil = evidence is null ? null : interval!.LastEnd,
        };
        return new RolloutAnalysis(outcome, analysis.ToJson(withSeries: true), queriesJson) { Warnings = analysis.Warnings };
    }

    /// <summary>
    /// Whether the metric's upper bound is below the limit: a counts metric's, or for a histogram
    /// every edge's that has observations above it in either cohort (at least one must), so no
    /// part of the distribution (a p99 tail) is left out; an unknown bound is never below.
    /// </summary>
    private static bool UpperBelow(SequentialResult? result, double below) => result switch
    {
        { HistogramState: { } histogram } => histogram.Edges.Where(e => e.ControlEvents + e.ExperimentEvents > 0).ToList() is { Count: > 0 } seen
            && seen.All(e => e.Upper is { } upper && upper < below),
        { Upper: { } upper } => upper < below,
        _ => false,
    };

    /// <summary>Whether both cohorts had requests (exposure, or histogram observations) in every interval given.</summary>
    private static bool BothCohortsServed(SequentialData? data) => data switch
    {
        CountData counts => counts.Counts.Count > 0 && counts.Counts.All(i => i.Informative),
        HistogramData histogram => histogram.Buckets.Count > 0 && histogram.Buckets.All(b => b.ControlBuckets[^1] > 0 && b.ExperimentBuckets[^1] > 0),
        _ => false,
    };

    /// <summary>The evidence to store: each sequential metric's state after this interval, the others as they were.</summary>
    private static Dictionary<string, SequentialPrior> Stored(RolloutState state, JudgeResult result, IReadOnlyDictionary<string, MetricSeries> series)
    {
        var stored = new Dictionary<string, SequentialPrior>(StringComparer.Ordinal);
        foreach (var metric in result.Metrics)
        {
            if (metric.Sequential is { } s && series.GetValueOrDefault(metric.Name)?.Sequential is { } data)
            {
                stored[metric.Name] = new SequentialPrior(s.CountState, s.HistogramState, data is HistogramData h ? h.Edges : null);
            }
            else if (state.Evidence?.GetValueOrDefault(metric.Name) is { } kept)
            {
                stored[metric.Name] = kept;
            }
        }

        return stored;
    }

    private static RolloutAnalysis Inconclusive(string reason, string queriesJson) =>
        new(new AnalysisOutcome(AnalysisVerdict.Inconclusive, null, reason), JsonSerializer.Serialize(new { inconclusive = true, reason }), queriesJson);
}
