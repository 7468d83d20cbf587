using System.Globalization;
using System.Text.RegularExpressions;
using Canary.Analyzer.Metrics;

namespace Canary.Analyzer.Simulation;

/// <summary>
/// Prometheus as the rollout sees it, over simulated traffic: both cohorts' counters
/// (http_requests_total, its 5xx part, http_request_duration_seconds_bucket) are scraped every
/// scrape interval, and the rendered queries of the http-* templates are answered from those
/// scrapes the way Prometheus evaluates them: rate() and increase() over the samples inside the
/// range, extrapolated to its edges; histogram_quantile() interpolated inside the bucket. A query
/// of another shape is an error naming it: the model has no other metrics.
/// </summary>
internal sealed partial class SimulatedPrometheus : IMetricSource
{
    /// <summary>The cohorts' label matchers the rules' queries are rendered with.</summary>
    public static readonly Cohorts Cohorts = new("track=\"primary\"", "track=\"canary\"");

    /// <summary>The default buckets of Prometheus's client libraries (seconds).</summary>
    public static readonly IReadOnlyList<double> Edges = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly TrafficModel traffic;
    private readonly StreamRandom random = new();
    private readonly ulong seed;
    private readonly double dayPhase;
    private readonly TimeSpan scrape;
    private readonly CohortCounters primaryNow = new(Edges.Count + 1);
    private readonly CohortCounters canaryNow = new(Edges.Count + 1);
    private readonly Scrapes primary = new();
    private readonly Scrapes canary = new();
    private DateTimeOffset next;
    private int scrapes;

    /// <param name="seed">The rollout's stream: the same seed gives the same requests at the same weights.</param>
    /// <param name="history">How long before the release the primary's scrapes go back (the longest window a rule looks at).</param>
    public SimulatedPrometheus(Scenario scenario, TimeSpan scrape, ulong seed, DateTimeOffset start, TimeSpan history)
    {
        traffic = new TrafficModel(scenario, Edges);
        this.seed = seed;
        this.scrape = scrape;
        Start = start;
        dayPhase = TrafficModel.DayPhase(StreamRandom.Mix(seed, 1));
        // Scrapes fall anywhere in a scrape interval; the primary has served for a long time already (its counters start at an
        // hour's worth of requests), and its scrapes reach back over the history, so the first window is as full for it as any later one.
        next = start - history + (scrape * TrafficModel.DayPhase(StreamRandom.Mix(seed, 2)));
        random.Reseed(StreamRandom.Mix(seed, 4));
        traffic.Serve(random, -TimeSpan.FromHours(2), 3600, dayPhase, 0, primaryNow, canaryNow);
        primary.Add(next - scrape, primaryNow);
        canary.Add(next - scrape, canaryNow);
    }

    public DateTimeOffset Start { get; }

    /// <summary>The canary's weight (percent) from now on, as the router was last told.</summary>
    public int Weight { get; set; }

    /// <summary>What the canary served so far (the truth, not Prometheus's estimate of it).</summary>
    public long CanaryRequests => canaryNow.Requests;

    public long CanaryErrors => canaryNow.Errors;

    /// <summary>Serves and scrapes every scrape interval up to now at the current weight.</summary>
    public void AdvanceTo(DateTimeOffset now)
    {
        while (next <= now)
        {
            random.Reseed(StreamRandom.Mix(seed, 3, (ulong)scrapes));
            traffic.Serve(random, next - Start, scrape.TotalSeconds, dayPhase, Weight, primaryNow, canaryNow);
            primary.Add(next, primaryNow);
            canary.Add(next, canaryNow);
            next += scrape;
            scrapes++;
        }
    }

    public Task<MetricFetch> FetchAsync(string query, AnalysisWindow window, bool pool, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        var parsed = Parse(query);
        var values = new List<double>();
        for (var at = window.Start; at <= window.End; at += window.Step)
        {
            if (Scalar(parsed, at) is { } value)
            {
                values.Add(value);
            }
        }

        return Task.FromResult(new MetricFetch([.. values], []));
    }

    public Task<SeriesFetch> FetchIntervalsAsync(string query, IntervalWindow window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        var parsed = Parse(query);
        var ends = Enumerable.Range(0, window.Count).Select(k => window.FirstEnd + (window.Step * k)).ToList();
        var times = ends.Select(e => e.ToUnixTimeMilliseconds() / 1000.0).ToArray();
        if (parsed.ByLe)
        {
            var perEnd = ends.Select(e => Buckets(parsed.Selectors[0], e)).ToList();
            if (perEnd.Any(b => b is null))
            {
                return Task.FromResult(new SeriesFetch([], []));
            }

            var series = new List<PrometheusSeries>();
            for (var b = 0; b <= Edges.Count; b++)
            {
                var le = b < Edges.Count ? Edges[b].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
                series.Add(new PrometheusSeries(new Dictionary<string, string> { ["le"] = le }, times, [.. perEnd.Select(v => v![b])]));
            }

            return Task.FromResult(new SeriesFetch(series, []));
        }

        var values = ends.Select(e => Scalar(parsed, e)).ToList();
        IReadOnlyList<PrometheusSeries> found = values.All(v => v is null) ? [] : [new(new Dictionary<string, string>(), times, [.. values.Select(v => v ?? double.NaN)])];
        return Task.FromResult(new SeriesFetch(found, []));
    }

    /// <summary>One selector of a query: rate or increase, of which counter, of which cohort, over which range.</summary>
    private sealed record Selector(bool Rate, string Counter, bool Canary, TimeSpan Range);

    private sealed record Query(IReadOnlyList<Selector> Selectors, double? Quantile, bool Ratio, bool OrZero, bool ByLe);

    [GeneratedRegex(@"(rate|increase)\((\w+)\{([^}]*)\}\[([0-9a-z.]+)\]\)")]
    private static partial Regex SelectorPattern();

    [GeneratedRegex(@"(^|[\s,])code\s*(=~|!~|!=|=)")]
    private static partial Regex CodeMatcher();

    [GeneratedRegex(@"^\s*histogram_quantile\(\s*([0-9.]+)\s*,")]
    private static partial Regex QuantilePattern();

    /// <summary>Whether the model answers this query; the rules check every query once, before any rollout runs.</summary>
    /// <exception cref="MetricsSourceException">It does not, with the query.</exception>
    public static void Check(string query) => Parse(query);

    private static Query Parse(string query)
    {
        var selectors = new List<Selector>();
        foreach (Match m in SelectorPattern().Matches(query))
        {
            var matchers = m.Groups[3].Value;
            var code = CodeMatcher().IsMatch(matchers);
            var counter = m.Groups[2].Value switch
            {
                "http_requests_total" when code && matchers.Contains("code=~\"5..\"", StringComparison.Ordinal) => "errors",
                "http_requests_total" when !code => "requests",
                "http_request_duration_seconds_bucket" => "buckets",
                _ => throw Unmodelled(query),
            };
            if (!PromQl.TryParseDuration(m.Groups[4].Value, out var range))
            {
                throw Unmodelled(query);
            }

            selectors.Add(new Selector(m.Groups[1].Value == "rate", counter, matchers.Contains(Cohorts.Experiment, StringComparison.Ordinal), range));
        }

        var quantile = QuantilePattern().Match(query) is { Success: true } q ? double.Parse(q.Groups[1].Value, CultureInfo.InvariantCulture) : (double?)null;
        var ratio = selectors.Count == 2 && query.Contains('/', StringComparison.Ordinal);
        var buckets = selectors.Count == 1 && selectors[0].Counter == "buckets";
        if (selectors.Count == 0 || (selectors.Count == 2 && !ratio) || selectors.Count > 2 || (quantile is not null && !buckets) || (buckets && quantile is null && !query.Contains("by (le)", StringComparison.Ordinal)))
        {
            throw Unmodelled(query);
        }

        return new Query(selectors, quantile, ratio, query.Contains("or vector(0)", StringComparison.Ordinal), buckets && quantile is null);
    }

    private static MetricsSourceException Unmodelled(string query) =>
        new($"the simulation models http_requests_total and http_request_duration_seconds_bucket under rate() and increase() (the http-* templates' error rate, quantiles, errors, latency and request rate), not: {query}");

    private double? Scalar(Query query, DateTimeOffset at)
    {
        if (query.Quantile is { } phi)
        {
            return Buckets(query.Selectors[0], at) is { } buckets ? PromQlFunctions.HistogramQuantile(phi, Edges, buckets) : null;
        }

        var first = Counter(query.Selectors[0], at) ?? (query.OrZero ? 0 : null);
        if (!query.Ratio)
        {
            return first;
        }

        return first is { } numerator && Counter(query.Selectors[1], at) is { } denominator ? numerator / denominator : null;
    }

    private double? Counter(Selector selector, DateTimeOffset at) =>
        (selector.Canary ? canary : primary).Extrapolated(at, selector.Range, selector.Rate, s => selector.Counter == "errors" ? s.Errors : s.Requests);

    private double[]? Buckets(Selector selector, DateTimeOffset at)
    {
        var scrapes = selector.Canary ? canary : primary;
        var values = new double[Edges.Count + 1];
        for (var b = 0; b <= Edges.Count; b++)
        {
            var le = b;
            if (scrapes.Extrapolated(at, selector.Range, selector.Rate, s => s.Le[le]) is not { } value)
            {
                return null;
            }

            values[b] = value;
        }

        return values;
    }

    /// <summary>One cohort's scrapes: cumulative counters at each scrape time (bounded by the longest rollout).</summary>
    private sealed class Scrapes
    {
        private readonly List<double> times = [];
        private readonly List<Sample> samples = [];

        public void Add(DateTimeOffset at, CohortCounters counters)
        {
            var le = new long[counters.Buckets.Length];
            long sum = 0;
            for (var b = 0; b < le.Length; b++)
            {
                sum += counters.Buckets[b];
                le[b] = sum;
            }

            times.Add(at.ToUnixTimeMilliseconds() / 1000.0);
            samples.Add(new Sample(counters.Requests, counters.Errors, le));
        }

        /// <summary>rate() or increase() of one counter over [at − range, at] (Prometheus 2.x's range; 3.x leaves out a sample exactly at the start, which scrapes off the minute never meet); null when fewer than two scrapes fall inside.</summary>
        public double? Extrapolated(DateTimeOffset at, TimeSpan range, bool rate, Func<Sample, long> value)
        {
            var end = at.ToUnixTimeMilliseconds() / 1000.0;
            var start = end - range.TotalSeconds;
            var last = times.BinarySearch(end);
            last = last >= 0 ? last : ~last - 1;
            var first = times.BinarySearch(start);
            first = first >= 0 ? first : ~first;
            if (last - first < 1)
            {
                return null;
            }

            return PromQlFunctions.ExtrapolatedDelta(times[first], value(samples[first]), times[last], value(samples[last]), last - first + 1, start, end, rate);
        }
    }

    private sealed record Sample(long Requests, long Errors, long[] Le);
}
