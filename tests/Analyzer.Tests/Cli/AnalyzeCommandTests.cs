using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Tests.Metrics;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>`canary analyze` end to end against the real Prometheus holding the synthetic history.</summary>
[Collection(SharedPrometheus.Name)]
public sealed class AnalyzeCommandTests(PrometheusFixture prometheus)
{
    /// <summary>A namespace that, unescaped, would end its string and add "or vector(1)" to every query.</summary>
    private const string HostileNamespace = "a\"} or vector(1) #";

    public static TheoryData<string> Sources => new() { "http", "istio", "nginx" };

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task A_healthy_v2_passes(string source)
    {
        var run = await AnalyzeAsync(source, "healthy");
        Assert.Equal(0, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.Equal("Pass", output.RootElement.GetProperty("classification").GetString());
        Assert.False(output.RootElement.GetProperty("inconclusive").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task A_cohort_without_errors_counts_no_errors_in_every_interval(string source)
    {
        var run = await AnalyzeAsync(source, "healthy");
        using var output = JsonDocument.Parse(run.Stdout);
        var control = Metric(output, "errors").GetProperty("control");
        // 30 minutes at the default step of 1m: 30 intervals, with requests and without a 5xx.
        Assert.Equal(30, control.GetProperty("intervals").GetInt32());
        Assert.Equal(0, control.GetProperty("events").GetInt64());
        Assert.True(control.GetProperty("exposure").GetInt64() > 0);
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task A_v2_with_three_times_the_errors_fails_on_the_error_rate(string source)
    {
        var run = await AnalyzeAsync(source, "errors", "--gate");
        Assert.Equal(1, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.Equal("Fail", output.RootElement.GetProperty("classification").GetString());
        var errors = Metric(output, "errors");
        Assert.Equal("High", errors.GetProperty("classification").GetString());
        var ratio = errors.GetProperty("effectSize").GetProperty("ratio").GetDouble();
        Assert.InRange(ratio, 2.4, 3.6);
        Assert.Equal("Pass", Metric(output, "latency").GetProperty("classification").GetString());
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task A_v2_thirty_percent_slower_fails_on_the_latency_metric(string source)
    {
        var run = await AnalyzeAsync(source, "slow");
        Assert.Equal(0, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.NotEqual("Pass", output.RootElement.GetProperty("classification").GetString());
        Assert.Equal("High", Metric(output, "latency").GetProperty("classification").GetString());
        Assert.Equal("Pass", Metric(output, "errors").GetProperty("classification").GetString());
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task A_v2_without_traffic_makes_the_analysis_inconclusive(string source)
    {
        var run = await AnalyzeAsync(source, "idle", "--gate");
        Assert.Equal(1, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.True(output.RootElement.GetProperty("inconclusive").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task A_v2_without_traffic_has_no_data(string source)
    {
        var run = await AnalyzeAsync(source, "idle", "--gate");
        using var output = JsonDocument.Parse(run.Stdout);
        // errors must have data, so missing data is a failure of the metric, never a pass.
        Assert.Equal("NoDataFailure", Metric(output, "errors").GetProperty("classification").GetString());
        Assert.Equal(0, Metric(output, "errors").GetProperty("experiment").GetProperty("exposure").GetInt64());
        Assert.Equal("NoData", Metric(output, "latency").GetProperty("classification").GetString());
    }

    [Fact]
    public async Task The_output_is_valid_by_the_published_output_schema()
    {
        var run = await AnalyzeAsync("http", "healthy");
        Assert.Empty(Support.Schemas.Problems(Support.Schemas.JudgeOutput, run.Stdout));
    }

    [Fact]
    public async Task The_output_carries_the_rendered_queries()
    {
        var run = await AnalyzeAsync("http", "healthy");
        using var output = JsonDocument.Parse(run.Stdout);
        var queries = output.RootElement.GetProperty("queries");
        var errors = queries.GetProperty("errors");
        Assert.Contains("namespace=\"healthy\", pod=~\"checkout-primary-.*\", code=~\"5..\"}[1m]", errors.GetProperty("control").GetString(), StringComparison.Ordinal);
        Assert.Contains("pod=~\"checkout-canary-.*\"}[1m]", errors.GetProperty("experimentExposure").GetString(), StringComparison.Ordinal);
        Assert.Equal(5, queries.EnumerateObject().Count());
    }

    [Fact]
    public async Task The_output_carries_the_window()
    {
        var run = await AnalyzeAsync("http", "healthy");
        using var output = JsonDocument.Parse(run.Stdout);
        var window = output.RootElement.GetProperty("window");
        Assert.Equal("2026-11-02T10:30:00Z", window.GetProperty("start").GetString());
        Assert.Equal("1m", window.GetProperty("step").GetString());
        Assert.Equal("1m", window.GetProperty("interval").GetString());
    }

    [Fact]
    public async Task A_table_says_of_each_sequential_metric_how_much_worse_how_sure_and_after_how_long()
    {
        // 30 one-minute intervals of v2 with 3× v1's errors: the errors cross early, the latency (no slower) never does.
        var run = await AnalyzeAsync("http", "errors", "--format", "table");
        var lines = run.Stdout.Split('\n');
        Assert.True(lines.Any(l => Regex.IsMatch(l, @"^  errors [0-9.]+× the baseline \(at least [0-9.]+×\), evidence [0-9.E+]+ ≥ 100 after [0-9.]+ min$")), run.Stdout);
        Assert.True(lines.Any(l => Regex.IsMatch(l, @"^  latency above [0-9.]+.*, evidence [0-9.E+-]+ < 100 after 30 min$")), run.Stdout);
    }

    [Fact]
    public async Task A_hostile_variable_value_selects_nothing()
    {
        // Unescaped, this namespace would turn every query into "… or vector(1)" and give data.
        var run = await AnalyzeAsync("http", HostileNamespace);
        Assert.Equal(0, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.All(output.RootElement.GetProperty("metrics").EnumerateArray(), m =>
        {
            var control = m.GetProperty("control");
            // Sampled metrics count samples; sequential ones requests (events) or observations (histograms).
            var found = control.TryGetProperty("count", out var count) ? count.GetInt32()
                : control.TryGetProperty("exposure", out var exposure) ? exposure.GetInt64() : control.GetProperty("total").GetInt64();
            Assert.Equal(0, found);
        });
    }

    [Fact]
    public async Task A_hostile_variable_value_stays_inside_its_string()
    {
        var run = await AnalyzeAsync("http", HostileNamespace);
        using var output = JsonDocument.Parse(run.Stdout);
        var query = output.RootElement.GetProperty("queries").GetProperty("latency").GetProperty("control").GetString();
        Assert.Contains("namespace=\"a\\\"} or vector(1) #\"", query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_query_Prometheus_rejects_exits_3_quoting_Prometheus_with_the_query()
    {
        var config = CanaryRunner.TempFile("bad-query.yaml", """
            metrics:
              - name: broken
                query: sum(rate(http_requests_total{ {{cohort}} }))
            """);
        var run = await CanaryRunner.RunAsync(
            "analyze", "--config", config, "--prometheus", prometheus.Url.ToString(), "--control", "version=\"v1\"", "--experiment", "version=\"v2\"",
            "--start", Unix(SyntheticHistory.WindowStart), "--end", Unix(SyntheticHistory.WindowEnd));
        Assert.Equal(3, run.ExitCode);
        Assert.Empty(run.Stdout);
        Assert.Contains(run.ErrorLines, l => l.StartsWith("canary analyze: Prometheus rejected the query (bad_data): ", StringComparison.Ordinal)
            && l.Contains("expected type range vector in call to function \"rate\"", StringComparison.Ordinal));
        Assert.Contains(run.ErrorLines, l => l.StartsWith("canary analyze:   query: sum(rate(http_requests_total{ version=\"v", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Several_series_for_one_cohort_are_an_error_naming_the_labels_unless_the_metric_pools_them()
    {
        var config = CanaryRunner.TempFile("unaggregated.yaml", """
            namespace: errors
            metrics:
              - name: requests by code
                query: rate(http_requests_total{namespace="{{namespace}}", {{cohort}}}[{{interval}}])
            """);
        var run = await AnalyzeFileAsync(config, "http");
        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Stdout);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("metric \"requests by code\", control: the query gave 2 series that differ in code (\"200\", \"500\")", line, StringComparison.Ordinal);

        File.AppendAllText(config, "\n    pool: true\n");
        var pooled = await AnalyzeFileAsync(config, "http");
        Assert.Equal(0, pooled.ExitCode);
        using var output = JsonDocument.Parse(pooled.Stdout);
        // Two series of 31 points (30 minutes at the default step, the interval of 1m).
        Assert.Equal(62, Metric(output, "requests by code").GetProperty("control").GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Prometheus_stopped_mid_run_exits_3_without_a_verdict()
    {
        await using var spare = await prometheus.StartSpareAsync();
        await using var proxy = await FaultProxy.StartAsync(spare.Url);
        proxy.BeforeForward = number =>
        {
            if (number == 3)
            {
                spare.Kill();
            }

            return Task.CompletedTask;
        };
        var run = await CanaryRunner.RunAsync(
            "analyze", "--config", CanaryRunner.Example("../canary/http.yaml"), "--prometheus", proxy.Url.ToString(),
            "--control", "version=\"v1\"", "--experiment", "version=\"v2\"", "--start", "now-10m", "--concurrency", "1", "--retries", "1");
        Assert.Equal(3, run.ExitCode);
        Assert.Empty(run.Stdout);
        Assert.StartsWith("canary analyze: cannot reach Prometheus at " + proxy.Url, run.ErrorLines[0], StringComparison.Ordinal);
        Assert.Contains("(after 2 attempts)", run.ErrorLines[0], StringComparison.Ordinal);
        Assert.True(proxy.Requests.Count >= 4, $"{proxy.Requests.Count} requests");
    }

    [Fact]
    public async Task A_live_exporter_scraped_every_second_is_judged_over_the_last_seconds()
    {
        using var client = new PrometheusClient(new PrometheusOptions { Url = prometheus.Url }, TimeProvider.System);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var scraped = await client.QueryAsync($"count_over_time(http_requests_total{{namespace=\"{LiveExporter.Namespace}\", version=\"v2\", code=\"500\"}}[30s])", DateTimeOffset.UtcNow);
            if (scraped.Series.Count == 1 && scraped.Series[0].Values[0] >= 12)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the live exporter was not scraped 12 times within 60 s");
            await Task.Delay(250);
        }

        var run = await CanaryRunner.RunAsync(
            "analyze", "--config", CanaryRunner.Example("../canary/http.yaml"), "--prometheus", prometheus.Url.ToString(), "--var", $"namespace={LiveExporter.Namespace}",
            "--control", "version=\"v1\"", "--experiment", "version=\"v2\"", "--start", "now-12s", "--end", "now", "--step", "2s");
        Assert.Equal(0, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        var errors = Metric(output, "errors");
        Assert.Equal("High", errors.GetProperty("classification").GetString());
        Assert.Equal(0, errors.GetProperty("control").GetProperty("events").GetInt64());
        var experiment = errors.GetProperty("experiment");
        // v2 fails every second request.
        Assert.InRange(experiment.GetProperty("events").GetInt64() / (double)experiment.GetProperty("exposure").GetInt64(), 0.4, 0.6);
        Assert.Equal("Fail", output.RootElement.GetProperty("classification").GetString());
    }

    private Task<CliRun> AnalyzeAsync(string source, string ns, params string[] more) =>
        AnalyzeFileAsync(CanaryRunner.Example($"../canary/{source}.yaml"), source, ["--var", $"namespace={ns}", .. more]);

    private Task<CliRun> AnalyzeFileAsync(string config, string source, params string[] more)
    {
        var (control, experiment) = ShippedTemplatesOnPrometheusTests.Cohorts(source);
        return CanaryRunner.RunAsync(
        [
            "analyze", "--config", config, "--prometheus", prometheus.Url.ToString(), "--control", control, "--experiment", experiment,
            "--start", "2026-11-02T10:30:00Z", "--end", Unix(SyntheticHistory.WindowEnd), .. more,
        ]);
    }

    private static string Unix(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static JsonElement Metric(JsonDocument output, string name) =>
        output.RootElement.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == name);
}
