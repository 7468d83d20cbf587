using Canary.Judge.Config;

namespace Canary.Analyzer.Metrics;

/// <summary>The label matchers that select each cohort, as they fill {{cohort}}.</summary>
internal sealed record Cohorts(string Control, string Experiment);

/// <summary>The time range of an analysis and its resolution: one sample per step.</summary>
internal sealed record AnalysisWindow(DateTimeOffset Start, DateTimeOffset End, TimeSpan Step)
{
    /// <summary>Prometheus refuses a range query whose window holds more than 11,000 steps ((end − start) / step).</summary>
    public const int MaxSteps = 11_000;

    public long Steps => (long)((End - Start) / Step);
}

/// <summary>One metric's PromQL for both cohorts, as sent to Prometheus; a template of kind events has an exposure query per cohort too.</summary>
internal sealed record RenderedQuery(string Control, string Experiment)
{
    public string? ControlExposure { get; init; }

    public string? ExperimentExposure { get; init; }
}

/// <summary>What one query gave: the samples (empty for "no data") and the warnings the source attached to this answer.</summary>
internal sealed record MetricFetch(double[] Values, IReadOnlyList<string> Warnings);

/// <summary>Every metric's samples for both cohorts, and the warnings of all their answers (distinct, in order).</summary>
internal sealed record CollectedSeries(Dictionary<string, MetricSeries> Series, IReadOnlyList<string> Warnings);

/// <summary>Samples of one cohort for one query; empty when the query found no series ("no data").</summary>
internal interface IMetricSource
{
    /// <exception cref="MetricsSourceException">The source failed or rejected the query.</exception>
    /// <exception cref="SeriesShapeException">Several series came back and the metric does not pool them.</exception>
    Task<MetricFetch> FetchAsync(string query, AnalysisWindow window, bool pool, CancellationToken cancellationToken);

    /// <summary>A sequential metric's query (an increase over {{range}}) at the end of each interval, every series it gives.</summary>
    /// <exception cref="MetricsSourceException">The source failed or rejected the query.</exception>
    Task<SeriesFetch> FetchIntervalsAsync(string query, IntervalWindow window, CancellationToken cancellationToken);
}

/// <summary>A query gave several series for one cohort; Message names the labels that differ.</summary>
internal sealed class SeriesShapeException : Exception
{
    public SeriesShapeException(string message)
        : base(message)
    {
    }

    public SeriesShapeException()
    {
    }

    public SeriesShapeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Renders every metric's queries and fetches both cohorts of all metrics concurrently, with a limit.</summary>
internal static class MetricCollector
{
    /// <summary>
    /// The queries of every metric for both cohorts. Values of namespace and variables are escaped
    /// into their string literals; the cohort matchers are taken as written.
    /// </summary>
    /// <exception cref="ArgumentException">A placeholder has no value (namespace unset) or interval is not a duration.</exception>
    public static IReadOnlyDictionary<string, RenderedQuery> Render(CanaryConfig config, Cohorts cohorts, string interval, string range)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(cohorts);
        var values = new Dictionary<string, string>(config.Variables, StringComparer.Ordinal);
        if (config.Namespace is { } ns)
        {
            values["namespace"] = ns;
        }

        var rendered = new Dictionary<string, RenderedQuery>(StringComparer.Ordinal);
        foreach (var metric in config.Metrics)
        {
            var window = metric.Template.Sequential ? range : interval;
            rendered[metric.Name] = new RenderedQuery(
                metric.Template.Render(cohorts.Control, window, values),
                metric.Template.Render(cohorts.Experiment, window, values))
            {
                ControlExposure = metric.Template.Exposure is null ? null : metric.Template.RenderExposure(cohorts.Control, window, values),
                ExperimentExposure = metric.Template.Exposure is null ? null : metric.Template.RenderExposure(cohorts.Experiment, window, values),
            };
        }

        return rendered;
    }

    /// <summary>Fetches both cohorts of every metric; the first failure cancels the rest and is thrown.</summary>
    public static async Task<CollectedSeries> CollectAsync(
        IMetricSource source, CanaryConfig config, IReadOnlyDictionary<string, RenderedQuery> queries, AnalysisWindow window, int concurrency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(queries);
        using var limit = new SemaphoreSlim(concurrency);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        async Task<MetricFetch> Fetch(CanaryMetric metric, string cohort, string query)
        {
            await limit.WaitAsync(failed.Token);
            try
            {
                return await source.FetchAsync(query, window, metric.Pool, failed.Token);
            }
            catch (SeriesShapeException e)
            {
                await failed.CancelAsync();
                throw new SeriesShapeException($"metric \"{metric.Name}\", {cohort}: {e.Message}");
            }
            catch (MetricsSourceException)
            {
                await failed.CancelAsync();
                throw;
            }
            finally
            {
                limit.Release();
            }
        }

        var fetches = config.Metrics.Where(m => !m.Template.Sequential).Select(m => (m.Name,
            Control: Fetch(m, "control", queries[m.Name].Control),
            Experiment: Fetch(m, "experiment", queries[m.Name].Experiment))).ToList();
        try
        {
            await Task.WhenAll(fetches.SelectMany(f => new[] { f.Control, f.Experiment }));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A sibling failed first and cancelled this one; its own exception is the one to report.
        }

        var first = fetches.SelectMany(f => new[] { f.Control, f.Experiment })
            .Where(t => t.IsFaulted && t.Exception!.InnerException is not OperationCanceledException)
            .Select(t => t.Exception!.InnerException!)
            .FirstOrDefault();
        if (first is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (fetches.SelectMany(f => new[] { f.Control, f.Experiment }).Any(t => !t.IsCompletedSuccessfully))
        {
            // Cancelled without a failure of its own and without the caller asking: never a verdict on part of the data.
            throw new MetricsSourceException("a query to the metrics source was cancelled before it answered");
        }

        var warnings = fetches.SelectMany(f => f.Control.Result.Warnings.Concat(f.Experiment.Result.Warnings)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new CollectedSeries(
            fetches.ToDictionary(f => f.Name, f => new MetricSeries(f.Name, f.Control.Result.Values, f.Experiment.Result.Values), StringComparer.Ordinal),
            warnings);
    }
}
