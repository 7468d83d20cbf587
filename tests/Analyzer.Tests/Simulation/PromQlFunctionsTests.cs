using System.Globalization;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Simulation;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Simulation;

/// <summary>The simulation's rate(), increase() and histogram_quantile() against the real Prometheus on the same scrapes (the backfilled synthetic history).</summary>
[Collection(SharedPrometheus.Name)]
public sealed class PromQlFunctionsTests(PrometheusFixture prometheus)
{
    private const string Selector = "namespace=\"errors\", version=\"v2\"";

    [Theory]
    [InlineData("increase", 60, 0)]
    [InlineData("increase", 60, 7)]
    [InlineData("increase", 50, 11)]
    [InlineData("rate", 120, 3)]
    [InlineData("rate", 45, 14)]
    public async Task Rate_and_increase_extrapolate_to_the_range_as_Prometheus_does(string function, int rangeSeconds, int offsetSeconds)
    {
        // Times off the scrape grid make Prometheus extrapolate to both edges of the range.
        var at = SyntheticHistory.WindowStart + TimeSpan.FromSeconds(offsetSeconds);
        var theirs = await ScalarAsync($"sum({function}(http_requests_total{{{Selector}}}[{rangeSeconds}s]))", at);
        var history = SyntheticHistory.Of("errors", "v2");
        var ours = Ours(history.Counts, at, rangeSeconds, function == "rate");
        Assert.Equal(theirs, ours, theirs * 1e-9);
    }

    [Theory]
    [InlineData(0.99, 0)]
    [InlineData(0.5, 9)]
    [InlineData(0.95, 13)]
    public async Task Histogram_quantile_interpolates_inside_the_bucket_as_Prometheus_does(double phi, int offsetSeconds)
    {
        var at = SyntheticHistory.WindowStart + TimeSpan.FromSeconds(offsetSeconds);
        var theirs = await ScalarAsync(string.Create(CultureInfo.InvariantCulture, $"histogram_quantile({phi}, sum by (le) (rate(http_request_duration_seconds_bucket{{{Selector}}}[1m])))"), at);
        var history = SyntheticHistory.Of("errors", "v2");
        var buckets = new double[SyntheticHistory.SecondsBuckets.Length + 1];
        for (var b = 0; b < buckets.Length; b++)
        {
            var le = b;
            buckets[b] = Ours([.. Enumerable.Range(0, history.Counts.Length).Select(t => le < buckets.Length - 1 ? (double)history.SecondsBuckets[t][le] : history.Counts[t])], at, 60, rate: true);
        }

        Assert.Equal(theirs, PromQlFunctions.HistogramQuantile(phi, SyntheticHistory.SecondsBuckets, buckets), 1e-9);
    }

    /// <summary>Ours over the history's scrapes inside [at − range, at] (Prometheus 2.x's range, which the tests run).</summary>
    private static double Ours(double[] counter, DateTimeOffset at, int rangeSeconds, bool rate)
    {
        var scrape = SyntheticHistory.ScrapeInterval.TotalSeconds;
        var end = (at - SyntheticHistory.Start).TotalSeconds;
        var start = end - rangeSeconds;
        var first = (int)Math.Ceiling(start / scrape);
        var last = (int)Math.Floor(end / scrape);
        return PromQlFunctions.ExtrapolatedDelta(first * scrape, counter[first], last * scrape, counter[last], last - first + 1, start, end, rate);
    }

    private async Task<double> ScalarAsync(string query, DateTimeOffset at)
    {
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        var result = await client.QueryAsync(query, at);
        return Assert.Single(Assert.Single(result.Series).Values);
    }
}
