using System.Text.Json.Nodes;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>Which requests a rollout's sequential interval counts, on the real Prometheus (e2e-healthy, scraped every second).</summary>
[Collection(SharedPrometheus.Name)]
public sealed class RolloutAnalyzerTests(PrometheusFixture prometheus)
{
    [Fact]
    public async Task The_interval_starts_where_the_stored_evidence_ended_in_whole_seconds()
    {
        var now = DateTimeOffset.UtcNow;
        var counted = await CountedAsync(now, new RolloutState { WeightSince = now.AddSeconds(-30), CountedUntil = now.AddSeconds(-7.5) }, warmUp: "0s");
        Assert.Equal((Format(now.AddSeconds(-7.5)), Format(now.AddSeconds(-0.5)), "7s"), counted);
    }

    [Fact]
    public async Task Requests_inside_the_warm_up_after_a_traffic_change_are_not_counted()
    {
        var now = DateTimeOffset.UtcNow;
        // The weight changed 10 s ago and the evidence was counted until then; the warm-up is 6 s.
        var counted = await CountedAsync(now, new RolloutState { WeightSince = now.AddSeconds(-10), CountedUntil = now.AddSeconds(-10) }, warmUp: "6s");
        Assert.Equal((Format(now.AddSeconds(-4)), Format(now), "4s"), counted);
    }

    [Fact]
    public async Task Under_a_second_to_count_is_no_analysis()
    {
        var now = DateTimeOffset.UtcNow;
        var resource = Resource("0s");
        var analysis = await new RolloutAnalyzer(Source()).AnalyzeAsync(resource, resource.Config!, Cohorts, now, new RolloutState { CountedUntil = now.AddMilliseconds(-400) }, CancellationToken.None);
        Assert.Null(analysis);
    }

    private static readonly Cohorts Cohorts = new("version=\"v1\"", "version=\"v2\"");

    private static string Format(DateTimeOffset at) => AnalysisDocument.Format(at);

    private async Task<(string Start, string End, string Step)> CountedAsync(DateTimeOffset now, RolloutState state, string warmUp)
    {
        await prometheus.WaitForScrapesAsync("e2e-healthy");
        var resource = Resource(warmUp);
        var analysis = await new RolloutAnalyzer(Source()).AnalyzeAsync(resource, resource.Config!, Cohorts, now, state, CancellationToken.None);
        var counted = JsonNode.Parse(analysis!.ResultJson)!["window"]!["counted"]!;
        return (counted["start"]!.GetValue<string>(), counted["end"]!.GetValue<string>(), counted["step"]!.GetValue<string>());
    }

    private PrometheusMetricSource Source() =>
        new(new PrometheusClient(new PrometheusOptions { Url = prometheus.Url, Retries = 0, Timeout = TimeSpan.FromSeconds(5) }, TimeProvider.System));

    private static CanaryResource Resource(string warmUp)
    {
        var (resource, problems) = CanaryResourceReader.Read("c.yaml", $$"""
            apiVersion: canary.dev/v1alpha1
            kind: Canary
            metadata: {name: checkout, namespace: e2e-healthy}
            spec:
              targetRef: {kind: Deployment, name: checkout}
              analysis:
                warmUp: {{warmUp}}
                config:
                  metrics: [{name: errors, template: http-errors}]
            """, TemplateLibrary.Default());
        Assert.Empty(problems);
        return resource!;
    }
}
