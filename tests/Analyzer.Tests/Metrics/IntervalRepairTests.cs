using System.Text.Json;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Metrics;

/// <summary>
/// What the query layer does to sequential counts the Judge would refuse, through `canary analyze`
/// on the real Prometheus: inline queries that give impossible counts on purpose (a constant added
/// to a real series, so each cohort has one value per interval).
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class IntervalRepairTests(PrometheusFixture prometheus)
{
    // A constant per interval: VALUE plus 0 times the scrapes of the cohort's targets in the range.
    private static string Constant(double value, string? le = null)
    {
        var number = $"({value.ToString(System.Globalization.CultureInfo.InvariantCulture)} + 0 * sum(count_over_time(up{{ {{{{cohort}}}} }}[{{{{range}}}}])))";
        return le is null ? number : $"label_replace({number}, \"le\", \"{le}\", \"\", \"\")";
    }

    [Fact]
    public async Task Events_above_exposure_are_capped_at_exposure_with_a_warning()
    {
        var config = CanaryRunner.TempFile("capped.yaml", $$"""
            metrics:
              - name: errors
                kind: events
                query: |
                  # events
                  {{Constant(12.4)}}
                  # exposure
                  {{Constant(10)}}
            """);
        var (output, warnings) = await AnalyzeAsync(config);
        var control = Metric(output, "errors").GetProperty("control");
        // 12.4 rounds to 12, above the 10 requests: capped, in each of the 3 intervals.
        Assert.Equal((30L, 30L), (control.GetProperty("events").GetInt64(), control.GetProperty("exposure").GetInt64()));
        Assert.Contains(warnings, w => w.EndsWith("metric \"errors\", control: events above exposure in 3 interval(s); capped at exposure", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bucket_below_a_smaller_edge_s_is_raised_to_it_with_a_warning()
    {
        var config = CanaryRunner.TempFile("buckets.yaml", $$"""
            metrics:
              - name: latency
                kind: histogram
                query: {{Constant(5, "0.1")}} or {{Constant(3, "0.25")}} or {{Constant(9, "+Inf")}}
            """);
        var (output, warnings) = await AnalyzeAsync(config);
        Assert.Equal(27, Metric(output, "latency").GetProperty("control").GetProperty("total").GetInt64());
        Assert.Contains(warnings, w => w.EndsWith("metric \"latency\", control: 3 bucket count(s) below a smaller edge's (increase() extrapolates each series on its own); raised to it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_edge_that_is_not_one_of_the_buckets_is_an_error_naming_the_field()
    {
        var config = CanaryRunner.TempFile("edge.yaml", $$"""
            metrics:
              - name: latency
                kind: histogram
                edge: "0.3"
                query: {{Constant(5, "0.1")}} or {{Constant(7, "0.25")}} or {{Constant(9, "+Inf")}}
            """);
        var run = await RunAsync(config);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("metric \"latency\", edge: \"0.3\" is not one of the buckets' le (0.1, 0.25)", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    private async Task<(JsonDocument Output, string[] Warnings)> AnalyzeAsync(string config)
    {
        var run = await RunAsync(config);
        Assert.Equal(0, run.ExitCode);
        return (JsonDocument.Parse(run.Stdout), run.ErrorLines);
    }

    private async Task<CliRun> RunAsync(string config)
    {
        // Scraped for the whole window: the fixture's Prometheus may have just started.
        await prometheus.WaitForScrapesAsync("e2e-healthy");
        var end = DateTimeOffset.UtcNow.AddSeconds(-2);
        return await CanaryRunner.RunAsync(
            "analyze", "--config", config, "--prometheus", prometheus.Url.ToString(), "--control", "job=~\".+\"", "--experiment", "job=~\".+\"",
            "--start", end.AddSeconds(-9).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--end", end.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), "--step", "3s");
    }

    private static JsonElement Metric(JsonDocument output, string name) =>
        output.RootElement.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == name);
}
