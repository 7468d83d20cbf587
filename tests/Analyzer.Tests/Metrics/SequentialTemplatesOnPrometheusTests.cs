using Canary.Analyzer.Metrics;
using Canary.Analyzer.Tests.Support;
using Canary.Judge.Config;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Metrics;

/// <summary>The sequential templates (kind events and histogram) on the real PromQL engine: back-to-back intervals count what the history's counters hold.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class SequentialTemplatesOnPrometheusTests(PrometheusFixture prometheus)
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(1);

    [Theory]
    [InlineData("http-errors")]
    [InlineData("istio-errors")]
    [InlineData("nginx-errors")]
    public async Task Each_interval_counts_the_errors_and_requests_the_counters_grew_by(string name)
    {
        var data = Assert.IsType<CountData>(await CollectAsync(name, "errors"));
        var (control, experiment) = (SyntheticHistory.Of("errors", "v1"), SyntheticHistory.Of("errors", "v2"));
        Assert.Equal(30, data.Counts.Count);
        for (var k = 0; k < data.Counts.Count; k++)
        {
            // Interval k ends at scrape t; Prometheus 2.x's increase(x[1m]) spans the samples at t-4 to t, so the counters' growth is exact.
            var (from, to) = Scrapes(k);
            var expected = new Canary.Judge.Sequential.CountInterval(
                (long)(control.Errors[to] - control.Errors[from]), (long)(control.Counts[to] - control.Counts[from]),
                (long)(experiment.Errors[to] - experiment.Errors[from]), (long)(experiment.Counts[to] - experiment.Counts[from]));
            Assert.Equal(expected, data.Counts[k]);
        }
    }

    [Fact]
    public void Back_to_back_intervals_never_count_a_request_twice()
    {
        // The k-th interval ends where the k+1-th starts: their scrapes meet at one sample and the growth between samples is counted once.
        var window = IntervalWindow.Steps(SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, Step);
        Assert.Equal((SyntheticHistory.WindowStart + Step, 30, "1m"), (window.FirstEnd, window.Count, window.Range));
        Assert.Equal(SyntheticHistory.WindowEnd, window.LastEnd);
    }

    [Theory]
    [InlineData("http-latency")]
    [InlineData("istio-latency")]
    [InlineData("nginx-latency")]
    public async Task Each_interval_counts_the_observations_of_every_bucket(string name)
    {
        var data = Assert.IsType<HistogramData>(await CollectAsync(name, "errors"));
        var milliseconds = name.StartsWith("istio-", StringComparison.Ordinal);
        var edges = milliseconds ? SyntheticHistory.IstioMillisecondBuckets : SyntheticHistory.SecondsBuckets;
        Assert.Equal([.. edges.Select(e => e.ToString(System.Globalization.CultureInfo.InvariantCulture)), "+Inf"], data.Edges);
        var history = SyntheticHistory.Of("errors", "v2");
        var cumulative = milliseconds ? history.MillisecondBuckets : history.SecondsBuckets;
        for (var k = 0; k < data.Buckets.Count; k++)
        {
            var (from, to) = Scrapes(k);
            long[] expected = [.. Enumerable.Range(0, edges.Length).Select(b => (long)(cumulative[to][b] - cumulative[from][b])), (long)(history.Counts[to] - history.Counts[from])];
            Assert.Equal(expected, data.Buckets[k].ExperimentBuckets);
        }
    }

    [Fact]
    public async Task A_cohort_without_traffic_has_no_exposure()
    {
        var data = Assert.IsType<CountData>(await CollectAsync("http-errors", "idle"));
        Assert.All(data.Counts, i => Assert.Equal((0L, 0L), (i.ExperimentEvents, i.ExperimentExposure)));
    }

    private static (int From, int To) Scrapes(int interval)
    {
        var to = (int)((SyntheticHistory.WindowStart + (Step * (interval + 1)) - SyntheticHistory.Start) / SyntheticHistory.ScrapeInterval);
        return (to - 4, to);
    }

    private async Task<SequentialData?> CollectAsync(string name, string ns)
    {
        var template = TemplateLibrary.Default().Load(name, new HashSet<string>());
        var (control, experiment) = ShippedTemplatesOnPrometheusTests.Cohorts(name);
        var values = new Dictionary<string, string> { ["namespace"] = ns };
        var window = IntervalWindow.Steps(SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, Step);
        var query = new RenderedQuery(template.Render(control, window.Range, values), template.Render(experiment, window.Range, values))
        {
            ControlExposure = template.Exposure is null ? null : template.RenderExposure(control, window.Range, values),
            ExperimentExposure = template.Exposure is null ? null : template.RenderExposure(experiment, window.Range, values),
        };
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        var metric = new CanaryMetric(name, template, Pool: false, name);
        var (data, _, _) = await IntervalCollector.CollectAsync(new PrometheusMetricSource(client), [metric], new Dictionary<string, RenderedQuery> { [name] = query }, window, null, CancellationToken.None);
        return data[name];
    }
}
