using Canary.Analyzer.Metrics;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Metrics;

/// <summary>Every template in queries/ runs on the real PromQL engine and finds the synthetic cohorts.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class ShippedTemplatesOnPrometheusTests(PrometheusFixture prometheus)
{
    public static TheoryData<string> Templates => new(TemplateLibrary.Default().Names().Where(n => !TemplateLibrary.Default().Load(n, new HashSet<string>()).Sequential));

    [Theory]
    [MemberData(nameof(Templates))]
    public async Task The_template_gives_at_every_step_the_value_the_history_holds(string name)
    {
        var template = TemplateLibrary.Default().Load(name, new HashSet<string>());
        var (control, experiment) = Cohorts(name);
        var values = new Dictionary<string, string> { ["namespace"] = "errors" };
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        foreach (var (cohort, version) in new[] { (control, "v1"), (experiment, "v2") })
        {
            var result = await client.QueryRangeAsync(
                template.Render(cohort, "1m", values), SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, TimeSpan.FromSeconds(30));
            var series = Assert.Single(result.Series);
            Assert.Equal(61, series.Values.Length);
            var history = SyntheticHistory.Of("errors", version);
            for (var i = 0; i < series.Values.Length; i++)
            {
                // Step i is scrape t; rate(x[1m]) on Prometheus 2.x takes the samples at t-4 (60 s before) to t, both ends inside the range.
                var t = (int)((SyntheticHistory.WindowStart - SyntheticHistory.Start + (TimeSpan.FromSeconds(30) * i)) / SyntheticHistory.ScrapeInterval);
                var expected = Expected(name, history, t - 4, t);
                Assert.True(Math.Abs(series.Values[i] - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"{name}, {version}, step {i}: {series.Values[i]}, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData("http-error-rate")]
    [InlineData("istio-error-rate")]
    [InlineData("nginx-error-rate")]
    public async Task Error_ratios_are_zero_for_a_cohort_without_errors(string name)
    {
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        var template = TemplateLibrary.Default().Load(name, new HashSet<string>());
        var (control, _) = Cohorts(name);

        // "healthy" has no 5xx series at all: the ratio is 0, not missing.
        var healthy = await client.QueryRangeAsync(template.Render(control, "1m", new Dictionary<string, string> { ["namespace"] = "healthy" }),
            SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, TimeSpan.FromSeconds(30));
        Assert.All(Assert.Single(healthy.Series).Values, v => Assert.Equal(0, v));
    }

    [Theory]
    [InlineData("http-error-rate")]
    [InlineData("istio-error-rate")]
    [InlineData("nginx-error-rate")]
    public async Task Error_ratios_have_no_data_for_a_cohort_without_traffic(string name)
    {
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        var template = TemplateLibrary.Default().Load(name, new HashSet<string>());
        var (_, experiment) = Cohorts(name);

        // In "idle" v2 is deployed but serves nothing: 0/0 at every step, which the Judge reads as missing.
        var idle = await client.QueryRangeAsync(template.Render(experiment, "1m", new Dictionary<string, string> { ["namespace"] = "idle" }),
            SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, TimeSpan.FromSeconds(30));
        Assert.All(Assert.Single(idle.Series).Values, v => Assert.True(double.IsNaN(v), $"{name}: {v}"));
    }

    /// <summary>
    /// What a template must give between scrapes from and to, computed from the counters the history
    /// holds: rates are increases over the 60 s between the two samples; quantiles interpolate
    /// linearly inside the bucket that holds the rank, as histogram_quantile does (its interpolation
    /// error is the bucket's width: the exact value is knowable only up to it).
    /// </summary>
    private static double Expected(string name, SyntheticHistory.CohortHistory h, int from, int to)
    {
        double Delta(double[] counter) => counter[to] - counter[from];
        var requests = Delta(h.Counts);
        var errors = Delta(h.Errors);
        var milliseconds = name.StartsWith("istio-", StringComparison.Ordinal);
        var unit = milliseconds ? 1000.0 : 1.0;
        return name[(name.IndexOf('-', StringComparison.Ordinal) + 1)..] switch
        {
            "error-rate" => errors / requests,
            "success-rate" => (requests - errors) / requests,
            "request-rate" => requests / 60,
            "latency-mean" => Delta(h.SumSeconds) * unit / requests,
            "latency-p50" => Quantile(0.50, h, from, to, milliseconds),
            "latency-p95" => Quantile(0.95, h, from, to, milliseconds),
            "latency-p99" => Quantile(0.99, h, from, to, milliseconds),
            "usage" => Delta(h.CpuSeconds) / 60,
            "working-set" => h.MemoryBytes[to],
            var other => throw new Xunit.Sdk.XunitException($"no expected value for a template named {name} ({other})"),
        };
    }

    private static double Quantile(double q, SyntheticHistory.CohortHistory h, int from, int to, bool milliseconds)
    {
        var (bounds, cumulative) = milliseconds
            ? (SyntheticHistory.IstioMillisecondBuckets, h.MillisecondBuckets)
            : (SyntheticHistory.SecondsBuckets, h.SecondsBuckets);
        var total = h.Counts[to] - h.Counts[from];
        var rank = q * total;
        for (var b = 0; b < bounds.Length; b++)
        {
            var below = b == 0 ? 0 : cumulative[to][b - 1] - cumulative[from][b - 1];
            var upTo = cumulative[to][b] - cumulative[from][b];
            if (upTo >= rank)
            {
                var lower = b == 0 ? 0 : bounds[b - 1];
                return lower + ((bounds[b] - lower) * (rank - below) / (upTo - below));
            }
        }

        return bounds[^1];
    }

    /// <summary>The cohort matchers of each source's labels, as a user would type them.</summary>
    internal static (string Control, string Experiment) Cohorts(string templateOrSource) => templateOrSource.Split('-')[0] switch
    {
        "istio" => ("destination_version=\"v1\"", "destination_version=\"v2\""),
        "nginx" => ("service=\"checkout-primary\"", "service=\"checkout-canary\""),
        _ => ("pod=~\"checkout-primary-.*\"", "pod=~\"checkout-canary-.*\""),
    };
}
