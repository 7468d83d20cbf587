using System.Globalization;

namespace Canary.Analyzer.Metrics;

/// <summary>Cohort samples from Prometheus range queries: every point of the (single, or pooled) series is a sample.</summary>
internal sealed class PrometheusMetricSource(PrometheusClient client) : IMetricSource
{
    /// <summary>One range query; the warnings Prometheus attached to its answer (e.g. a partial response) come back with it, nothing is kept.</summary>
    public async Task<MetricFetch> FetchAsync(string query, AnalysisWindow window, bool pool, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(window);
        var result = await client.QueryRangeAsync(query, window.Start, window.End, window.Step, cancellationToken);
        if (result.Series.Count > 1 && !pool)
        {
            throw new SeriesShapeException(DescribeSeries(result.Series));
        }

        return new MetricFetch(result.Series.Count == 1 ? result.Series[0].Values : [.. result.Series.SelectMany(s => s.Values)], [.. result.Warnings]);
    }

    /// <summary>An instant query at the end of a single interval, else a range query with one point per interval end.</summary>
    public async Task<SeriesFetch> FetchIntervalsAsync(string query, IntervalWindow window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        var result = window.Count == 1
            ? await client.QueryAsync(query, window.FirstEnd, cancellationToken)
            : await client.QueryRangeAsync(query, window.FirstEnd, window.LastEnd, window.Step, cancellationToken);
        return new SeriesFetch(result.Series, [.. result.Warnings]);
    }

    /// <summary>"the query gave 3 series that differ in pod ("a", "b", "c"); ..." — the labels that tell them apart.</summary>
    internal static string DescribeSeries(IReadOnlyList<PrometheusSeries> series)
    {
        var names = series.SelectMany(s => s.Labels.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var differing = names
            .Where(n => series.Select(s => s.Labels.GetValueOrDefault(n)).Distinct(StringComparer.Ordinal).Skip(1).Any())
            .Select(n => $"{n} ({string.Join(", ", series.Select(s => s.Labels.TryGetValue(n, out var v) ? $"\"{v}\"" : "unset").Distinct(StringComparer.Ordinal).Take(5))}{(series.Count > 5 ? ", ..." : string.Empty)})")
            .ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"the query gave {series.Count} series that differ in {string.Join(", ", differing)}; aggregate them in the query (e.g. sum without ({string.Join(", ", differing.Select(d => d[..d.IndexOf(' ', StringComparison.Ordinal)]))})) or set \"pool: true\" to take every point of every series as a sample");
    }
}
