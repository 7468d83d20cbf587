using System.Globalization;
using Canary.Judge.Config;
using Canary.Judge.Sequential;

namespace Canary.Analyzer.Metrics;

/// <summary>
/// Back-to-back count intervals for sequential metrics: the k-th ends at FirstEnd + k × Step and
/// covers the Step before it, so no request is counted twice. {{range}} is the Step.
/// </summary>
internal sealed record IntervalWindow(DateTimeOffset FirstEnd, int Count, TimeSpan Step)
{
    public DateTimeOffset LastEnd => FirstEnd + (Step * (Count - 1));

    /// <summary>The start of the first interval.</summary>
    public DateTimeOffset Start => FirstEnd - Step;

    /// <summary>{{range}}: the step as a PromQL duration of whole milliseconds.</summary>
    public string Range => Documents.TimeArguments.Format(Step);

    /// <summary>One interval from start to end (a rollout's tick: from the previous tick's stored end to now).</summary>
    public static IntervalWindow Single(DateTimeOffset start, DateTimeOffset end) => new(end, 1, end - start);

    /// <summary>The intervals of one step each from start to end (`canary analyze` of sequential metrics); the last ends at or before end.</summary>
    public static IntervalWindow Steps(DateTimeOffset start, DateTimeOffset end, TimeSpan step) => new(start + step, (int)Math.Max(0, (end - start) / step), step);
}

/// <summary>What a sequential query gave: its series (one per le for histograms) and the warnings the source attached.</summary>
internal sealed record SeriesFetch(IReadOnlyList<PrometheusSeries> Series, IReadOnlyList<string> Warnings);

/// <summary>The stored evidence a rollout passes in for one sequential metric, with the edges it was built on (histograms).</summary>
internal sealed record SequentialPrior(CountSequenceState? Counts, HistogramSequenceState? Histogram, IReadOnlyList<string>? Edges);

/// <summary>
/// Fetches sequential metrics' per-interval counts for both cohorts and turns them into the Judge's
/// integers (DESIGN, "Sequential metrics"): what increase() extrapolates is rounded, negative
/// values become 0, histogram buckets are made non-decreasing over the edges (a running maximum),
/// events are capped at exposure; each repair is a warning kept with the analysis.
/// </summary>
internal static class IntervalCollector
{
    /// <summary>Every query at once, at most concurrency in flight; the first failure is thrown (the others are awaited, not lost).</summary>
    /// <returns>Each metric's data, the warnings the source attached, and the repairs made to the counts (each a warning of canary's own).</returns>
    public static async Task<(Dictionary<string, SequentialData?> Data, List<string> Warnings, List<string> Repairs)> CollectAsync(
        IMetricSource source, IReadOnlyList<CanaryMetric> metrics, IReadOnlyDictionary<string, RenderedQuery> queries, IntervalWindow window,
        IReadOnlyDictionary<string, SequentialPrior>? priors, CancellationToken cancellationToken, int concurrency = 8)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(queries);
        using var limit = new SemaphoreSlim(concurrency);
        async Task<SeriesFetch> Fetch(CanaryMetric metric, string cohort, string text)
        {
            await limit.WaitAsync(cancellationToken);
            try
            {
                return await source.FetchIntervalsAsync(text, window, cancellationToken);
            }
            catch (SeriesShapeException e)
            {
                throw new SeriesShapeException($"metric \"{metric.Name}\", {cohort}: {e.Message}");
            }
            finally
            {
                limit.Release();
            }
        }

        var fetches = metrics.Select(m =>
        {
            var q = queries[m.Name];
            string?[] texts = [q.Control, q.ControlExposure, q.Experiment, q.ExperimentExposure];
            return (Metric: m, Tasks: texts.Select((t, i) => t is null ? null : Fetch(m, i < 2 ? "control" : "experiment", t)).ToArray());
        }).ToList();
        var all = fetches.SelectMany(f => f.Tasks).OfType<Task<SeriesFetch>>().ToList();
        try
        {
            await Task.WhenAll(all);
        }
        catch (Exception) when (all.Any(t => t.IsFaulted))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(all.First(t => t.IsFaulted).Exception!.InnerException!);
        }

        var data = new Dictionary<string, SequentialData?>(StringComparer.Ordinal);
        var warnings = all.SelectMany(t => t.Result.Warnings).Distinct(StringComparer.Ordinal).ToList();
        var repairs = new List<string>();
        foreach (var (metric, tasks) in fetches)
        {
            var prior = priors?.GetValueOrDefault(metric.Name);
            try
            {
                if (metric.Kind == "events")
                {
                    var control = Counts(metric, window, "control", tasks[0]!.Result, tasks[1]!.Result, repairs);
                    var experiment = Counts(metric, window, "experiment", tasks[2]!.Result, tasks[3]!.Result, repairs);
                    data[metric.Name] = new CountData([.. control.Zip(experiment, (c, e) => new CountInterval(c.Events, c.Exposure, e.Events, e.Exposure))]) { Prior = prior?.Counts, IntervalSeconds = window.Step.TotalSeconds };
                }
                else
                {
                    data[metric.Name] = Histograms(metric, window, tasks[0]!.Result, tasks[2]!.Result, prior, repairs) is { } histogram ? histogram with { IntervalSeconds = window.Step.TotalSeconds } : null;
                }
            }
            catch (SeriesShapeException e)
            {
                throw new SeriesShapeException($"metric \"{metric.Name}\": {e.Message}");
            }
        }

        return (data, warnings, repairs);
    }

    /// <summary>The value of the (single, or pooled) series at the end of each interval; NaN where it has none.</summary>
    private static double[] AtEnds(IReadOnlyList<PrometheusSeries> series, IntervalWindow window)
    {
        var values = new double[window.Count];
        Array.Fill(values, double.NaN);
        foreach (var one in series)
        {
            for (var i = 0; i < one.Timestamps.Length; i++)
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(one.Timestamps[i] * 1000));
                var k = window.Count == 1 ? 0 : (int)Math.Round((at - window.FirstEnd) / window.Step);
                if (k >= 0 && k < window.Count && double.IsFinite(one.Values[i]))
                {
                    values[k] = double.IsNaN(values[k]) ? one.Values[i] : values[k] + one.Values[i];
                }
            }
        }

        return values;
    }

    private static long Whole(double value) => double.IsFinite(value) && value > 0 ? (long)Math.Min(Math.Round(value, MidpointRounding.AwayFromZero), 1L << 53) : 0;

    private static void SingleOrPooled(CanaryMetric metric, SeriesFetch fetch)
    {
        if (fetch.Series.Count > 1 && !metric.Pool)
        {
            throw new SeriesShapeException(PrometheusMetricSource.DescribeSeries(fetch.Series));
        }
    }

    private static HistogramData? Histograms(CanaryMetric metric, IntervalWindow window, SeriesFetch control, SeriesFetch experiment, SequentialPrior? prior, List<string> warnings)
    {
        var byEdge = new[] { control, experiment }.Select(fetch =>
        {
            var groups = new Dictionary<string, List<PrometheusSeries>>(StringComparer.Ordinal);
            foreach (var series in fetch.Series)
            {
                if (!series.Labels.TryGetValue("le", out var le) || (le != "+Inf" && !double.TryParse(le, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                {
                    throw new SeriesShapeException("a template of kind histogram returns the _bucket series by le (sum by (le) (increase(x_bucket{...}[{{range}}]))); a series has no numeric le label");
                }

                groups.TryAdd(le, []);
                groups[le].Add(series);
            }

            if (!metric.Pool && groups.Values.Any(g => g.Count > 1))
            {
                throw new SeriesShapeException(PrometheusMetricSource.DescribeSeries(groups.Values.First(g => g.Count > 1)));
            }

            return groups;
        }).ToArray();
        // The edges both cohorts report (or the one cohort's, when the other has no series at all): a bucket one cohort lacks would be guessed, and the guess biases the ratio.
        var reported = byEdge.Where(g => g.Count > 0).ToList();
        var edges = reported.Count == 0 ? [] : reported.Select(g => (IEnumerable<string>)g.Keys).Aggregate((a, b) => a.Intersect(b, StringComparer.Ordinal))
            .OrderBy(le => le == "+Inf" ? double.PositiveInfinity : double.Parse(le, NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
        if (reported.Count == 0)
        {
            return null;
        }

        var onlyOne = reported.SelectMany(g => g.Keys).Distinct(StringComparer.Ordinal).Where(le => !edges.Contains(le)).ToList();
        if (onlyOne.Count > 0)
        {
            warnings.Add($"metric \"{metric.Name}\": le {string.Join(", ", onlyOne.Take(5))} only in one cohort's buckets; judged on the {edges.Count} edges both report");
        }

        if (edges[^1] != "+Inf" || edges.Count < 2)
        {
            throw new SeriesShapeException($"the buckets have no le=\"+Inf\" series (the total) or no finite edge: got {string.Join(", ", edges.Take(5))}");
        }

        var cohorts = new long[2][][];
        for (var c = 0; c < 2; c++)
        {
            // A cohort without any series served nothing: all its buckets are 0.
            var values = edges.Select(le => byEdge[c].TryGetValue(le, out var series) ? AtEnds(series, window) : null).ToList();

            cohorts[c] = new long[window.Count][];
            var repaired = 0;
            for (var k = 0; k < window.Count; k++)
            {
                var buckets = new long[edges.Count];
                for (var e = 0; e < edges.Count; e++)
                {
                    var value = values[e] is { } v ? Whole(v[k]) : 0;
                    if (e > 0 && value < buckets[e - 1])
                    {
                        repaired++;
                        value = buckets[e - 1];
                    }

                    buckets[e] = value;
                }

                cohorts[c][k] = buckets;
            }

            if (repaired > 0)
            {
                warnings.Add($"metric \"{metric.Name}\", {(c == 0 ? "control" : "experiment")}: {repaired} bucket count(s) below a smaller edge's (increase() extrapolates each series on its own); raised to it");
            }
        }

        var priorState = prior?.Histogram is { } stored && prior.Edges is { } storedEdges && storedEdges.SequenceEqual(edges, StringComparer.Ordinal) ? stored : null;
        if (prior?.Histogram is not null && priorState is null)
        {
            warnings.Add($"metric \"{metric.Name}\": the buckets' edges changed ({string.Join(", ", prior.Edges ?? [])} → {string.Join(", ", edges)}); its evidence starts again");
        }

        return new HistogramData(edges, [.. Enumerable.Range(0, window.Count).Select(k => new HistogramInterval(cohorts[0][k], cohorts[1][k]))]) { Prior = priorState };
    }

    /// <summary>Turns a cohort's events and exposure answers into whole counts per interval.</summary>
    private static List<(long Events, long Exposure)> Counts(CanaryMetric metric, IntervalWindow window, string cohort, SeriesFetch events, SeriesFetch exposure, List<string> warnings)
    {
        SingleOrPooled(metric, events);
        SingleOrPooled(metric, exposure);
        var (e, x) = (AtEnds(events.Series, window), AtEnds(exposure.Series, window));
        var capped = 0;
        var result = new List<(long, long)>(window.Count);
        for (var k = 0; k < window.Count; k++)
        {
            var (count, total) = (Whole(e[k]), Whole(x[k]));
            if (count > total)
            {
                capped++;
                count = total;
            }

            result.Add((count, total));
        }

        if (capped > 0)
        {
            warnings.Add($"metric \"{metric.Name}\", {cohort}: events above exposure in {capped} interval(s); capped at exposure");
        }

        return result;
    }
}
