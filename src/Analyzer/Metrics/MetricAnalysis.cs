using System.Text;
using Canary.Analyzer.Documents;
using Canary.Judge;
using Canary.Judge.Config;
using Canary.Judge.Results;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// One analysis as it was run: the judgement, the queries sent, the window, the warnings Prometheus
/// attached to its answers and both cohorts' samples. Everything belongs to this analysis alone.
/// </summary>
internal sealed record AnalysisResult(
    JudgeResult Judgement, IReadOnlyDictionary<string, RenderedQuery> Queries, AnalysisWindow Window, string Interval,
    IReadOnlyList<string> Warnings, IReadOnlyDictionary<string, MetricSeries> Series, CanaryConfig Config)
{
    /// <summary>The intervals the sequential metrics counted, when there are any.</summary>
    public IntervalWindow? Counted { get; init; }

    /// <summary>What canary repaired in the sequential counts (also in <see cref="Warnings"/>, which the source's warnings precede).</summary>
    public IReadOnlyList<string> Repairs { get; init; } = [];

    /// <summary>The warnings the source attached to the sequential metrics' answers (a partial response).</summary>
    public IReadOnlyList<string> SequentialWarnings { get; init; } = [];

    /// <summary>The Judge's output document with the window, the queries, the warnings and (withSeries) the samples.</summary>
    public string ToJson(bool withSeries)
    {
        using var buffer = new MemoryStream();
        JudgeDocumentWriter.Write(buffer, Judgement, writer =>
        {
            AnalysisDocument.WriteWindow(writer, Window, Interval, Counted);
            AnalysisDocument.WriteQueries(writer, Config, Queries);
            if (withSeries)
            {
                AnalysisDocument.WriteSeries(writer, Series.Values);
            }

            if (Warnings.Count > 0)
            {
                // A partial answer (e.g. a store of Thanos or Mimir down) is kept with the verdict it shaped.
                writer.WriteStartArray("warnings");
                foreach (var warning in Warnings)
                {
                    writer.WriteStringValue(warning);
                }

                writer.WriteEndArray();
            }
        });
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

/// <summary>
/// The one analysis path (DESIGN: Metrics/), used by `canary analyze`, the API's analyses and
/// rollouts: render the config's queries for both cohorts, fetch the window, judge.
/// </summary>
internal static class MetricAnalysis
{
    /// <summary>The queries of every metric for both cohorts.</summary>
    /// <exception cref="Documents.InputException">A template uses {{namespace}} and none is set, or another placeholder has no value.</exception>
    /// <remarks>Sampled metrics take rates over interval ({{interval}}); sequential ones count over range ({{range}}).</remarks>
    public static IReadOnlyDictionary<string, RenderedQuery> Render(CanaryConfig config, Cohorts cohorts, string interval, string range)
    {
        ArgumentNullException.ThrowIfNull(config);
        var usesNamespace = config.Metrics.Where(m => m.Template.Placeholders.Contains("namespace")).Select(m => m.Name).ToList();
        if (config.Namespace is null && usesNamespace.Count > 0)
        {
            throw new Documents.InputException($"namespace: the queries of {string.Join(", ", usesNamespace.Take(3).Select(n => $"\"{n}\""))} use {{{{namespace}}}}; set \"namespace:\" in {config.Source} or give --var namespace=NAME");
        }

        try
        {
            return MetricCollector.Render(config, cohorts, interval, range);
        }
        catch (ArgumentException e)
        {
            throw new Documents.InputException($"{config.Source}: the queries cannot be rendered: {e.Message}");
        }
    }

    /// <summary>
    /// Fetches both cohorts of every metric over the window and judges them: sampled metrics one
    /// sample per step, sequential ones one count interval per step (or over intervals, a rollout's
    /// one interval since its previous tick, with the stored evidence in priors).
    /// </summary>
    /// <exception cref="MetricsSourceException">The source failed or rejected a query.</exception>
    /// <exception cref="SeriesShapeException">A query gave several series and its metric does not pool them.</exception>
    public static async Task<AnalysisResult> RunAsync(
        IMetricSource source, CanaryConfig config, IReadOnlyDictionary<string, RenderedQuery> queries, AnalysisWindow window, string interval, int concurrency, CancellationToken cancellationToken,
        IntervalWindow? intervals = null, IReadOnlyDictionary<string, SequentialPrior>? priors = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(window);
        var collected = await MetricCollector.CollectAsync(source, config, queries, window, concurrency, cancellationToken);
        var series = collected.Series;
        var warnings = collected.Warnings;
        var sequential = config.Metrics.Where(m => m.Template.Sequential).ToList();
        var counted = sequential.Count == 0 ? null : intervals ?? IntervalWindow.Steps(window.Start, window.End, window.Step);
        List<string> repairs = [];
        List<string> sequentialWarnings = [];
        if (counted is not null)
        {
            (var data, sequentialWarnings, repairs) = await IntervalCollector.CollectAsync(source, sequential, queries, counted, priors, cancellationToken, concurrency);
            foreach (var metric in config.Judge.Metrics.Where(m => m.Edge is not null && data.GetValueOrDefault(m.Name) is HistogramData))
            {
                var edges = ((HistogramData)data[metric.Name]!).Edges;
                if (!edges.SkipLast(1).Any(le => SameNumber(le, metric.Edge!)))
                {
                    throw new SeriesShapeException($"metric \"{metric.Name}\", edge: \"{metric.Edge}\" is not one of the buckets' le ({string.Join(", ", edges.SkipLast(1).Take(20))})");
                }
            }

            foreach (var (name, value) in data)
            {
                series[name] = new MetricSeries(name, [], []) { Sequential = value };
            }

            warnings = [.. warnings.Concat(sequentialWarnings).Distinct(StringComparer.Ordinal), .. repairs];
        }

        var judgement = CanaryJudge.Judge(config.Judge, series);
        return new AnalysisResult(judgement, queries, window, interval, warnings, series, config) { Counted = counted, Repairs = repairs, SequentialWarnings = sequentialWarnings };
    }

    private static bool SameNumber(string le, string edge) =>
        double.TryParse(le, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var a)
        && double.TryParse(edge, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var b) && a == b;
}
