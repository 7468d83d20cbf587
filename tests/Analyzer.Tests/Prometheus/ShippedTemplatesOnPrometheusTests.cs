using Canary.Analyzer.Metrics;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Prometheus;

/// <summary>Every template in queries/ runs on the real PromQL engine and finds the synthetic cohorts.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class ShippedTemplatesOnPrometheusTests(PrometheusFixture prometheus)
{
    public static TheoryData<string> Templates => new(TemplateLibrary.Default().Names());

    [Theory]
    [MemberData(nameof(Templates))]
    public async Task The_template_gives_one_series_of_numbers_per_cohort(string name)
    {
        var template = TemplateLibrary.Default().Load(name, new HashSet<string>());
        var (control, experiment) = Cohorts(name);
        var values = new Dictionary<string, string> { ["namespace"] = "errors" };
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        foreach (var cohort in new[] { control, experiment })
        {
            var result = await client.QueryRangeAsync(
                template.Render(cohort, "1m", values), SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, TimeSpan.FromSeconds(30));
            var series = Assert.Single(result.Series);
            Assert.Equal(61, series.Values.Length);
            Assert.All(series.Values, v => Assert.True(double.IsFinite(v) && v >= 0, $"{name}: {v}"));
            Assert.Contains(series.Values, v => v > 0);
        }
    }

    [Fact]
    public async Task Error_ratios_are_zero_for_a_cohort_without_errors_and_no_data_for_one_without_traffic()
    {
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        var library = TemplateLibrary.Default();
        foreach (var name in new[] { "http-error-rate", "istio-error-rate", "nginx-error-rate" })
        {
            var template = library.Load(name, new HashSet<string>());
            var (control, experiment) = Cohorts(name);

            // "healthy" has no 5xx series at all: the ratio is 0, not missing.
            var healthy = await client.QueryRangeAsync(template.Render(control, "1m", new Dictionary<string, string> { ["namespace"] = "healthy" }),
                SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, TimeSpan.FromSeconds(30));
            Assert.All(Assert.Single(healthy.Series).Values, v => Assert.Equal(0, v));

            // In "idle" v2 is deployed but serves nothing: 0/0 at every step, which the Judge reads as missing.
            var idle = await client.QueryRangeAsync(template.Render(experiment, "1m", new Dictionary<string, string> { ["namespace"] = "idle" }),
                SyntheticHistory.WindowStart, SyntheticHistory.WindowEnd, TimeSpan.FromSeconds(30));
            Assert.All(Assert.Single(idle.Series).Values, v => Assert.True(double.IsNaN(v), $"{name}: {v}"));
        }
    }

    /// <summary>The cohort matchers of each source's labels, as a user would type them.</summary>
    internal static (string Control, string Experiment) Cohorts(string templateOrSource) => templateOrSource.Split('-')[0] switch
    {
        "istio" => ("destination_version=\"v1\"", "destination_version=\"v2\""),
        "nginx" => ("service=\"checkout-primary\"", "service=\"checkout-canary\""),
        _ => ("pod=~\"checkout-primary-.*\"", "pod=~\"checkout-canary-.*\""),
    };
}
