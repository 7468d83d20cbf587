using System.Text.Json;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>`canary judge` with sequential metrics (DESIGN, "Sequential metrics"): counts and histograms in, evidence out, every bad shape an input error naming its field.</summary>
public sealed class JudgeSequentialTests
{
    // The baseline's 1 % errors; the canary's 3 % over four steps of traffic.
    private const string Counts = """
        {"config": {"judge": {"confidenceLevel": 0.99}, "metrics": [{"name": "error rate", "direction": "increase", "method": "sequential"}]},
         "data": [{"metric": "error rate",
                   "control":    {"events": [11, 9, 17, 8, 12, 10], "exposure": [1140, 1090, 900, 600, 1210, 1080]},
                   "experiment": {"events": [2, 5, 10, 19, 1, 3], "exposure": [60, 118, 300, 600, 62, 121]}}]}
        """;

    private const string Histogram = """
        {"config": {"judge": {"confidenceLevel": 0.99}, "metrics": [{"name": "latency", "direction": "increase", "method": "sequential", "edge": "0.1"}]},
         "data": [{"metric": "latency",
                   "control":    {"le": ["0.05", "0.1", "0.25", "+Inf"], "buckets": [[900, 1100, 1138, 1140], [880, 1050, 1087, 1090]]},
                   "experiment": {"le": ["0.05", "0.1", "0.25", "+Inf"], "buckets": [[30, 40, 55, 60], [60, 80, 110, 118]]}}]}
        """;

    [Fact]
    public async Task A_counts_metric_that_triples_its_errors_is_High_with_its_evidence()
    {
        var metric = await JudgeAsync(Counts);
        Assert.Equal("High", metric.GetProperty("classification").GetString());
        var sequential = metric.GetProperty("sequential");
        Assert.Equal(0.01, sequential.GetProperty("alpha").GetDouble());
        Assert.Equal(6, sequential.GetProperty("evidence").GetArrayLength());
        Assert.True(sequential.GetProperty("evidence")[sequential.GetProperty("crossedAt").GetInt32()].GetDouble() >= 100);
        Assert.True(sequential.GetProperty("lower").GetDouble() > 1);
        Assert.Equal(JsonValueKind.Null, metric.GetProperty("test").ValueKind);
    }

    [Fact]
    public async Task A_counts_metric_reports_each_cohort_s_sums()
    {
        var metric = await JudgeAsync(Counts);
        Assert.Equal((6, 67, 6020), Totals(metric.GetProperty("control")));
        Assert.Equal((6, 40, 1261), Totals(metric.GetProperty("experiment")));
    }

    [Fact]
    public async Task A_histogram_metric_reports_the_edge_it_names()
    {
        var metric = await JudgeAsync(Histogram);
        Assert.Equal("0.1", metric.GetProperty("sequential").GetProperty("edge").GetString());
        Assert.Equal(2230, metric.GetProperty("control").GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task The_output_of_sequential_metrics_is_valid_by_the_output_schema()
    {
        foreach (var input in new[] { Counts, Histogram })
        {
            var run = await CanaryRunner.RunWithInputAsync(input, "judge", "-");
            Assert.Empty(Schemas.Problems(Schemas.JudgeOutput, run.Stdout));
        }
    }

    [Fact]
    public void Sequential_inputs_are_valid_by_the_input_schema()
    {
        foreach (var input in new[] { Counts, Histogram })
        {
            Assert.Empty(Schemas.Problems(Schemas.JudgeInput, input));
        }
    }

    [Theory]
    [InlineData("\"events\": [11, 9, 17, 8, 12, 10], \"exposure\": [1140, 1090, 900, 600, 1210, 1080]", "\"events\": [2, 5, 10, 19, 1], \"exposure\": [60, 118, 300, 600, 62]", "data[0].experiment.events: has 5 interval(s), the control 6")]
    [InlineData("\"events\": [11, 9, 17, 8, 12, 1100], \"exposure\": [1140, 1090, 900, 600, 1210, 1080]", "\"events\": [2, 5, 10, 19, 1, 3], \"exposure\": [60, 118, 300, 600, 62, 121]", "data[0].control.events[5]: 1100 is more than the interval's exposure 1080")]
    [InlineData("\"events\": [11, 9, 17, 8, 12, -1], \"exposure\": [1140, 1090, 900, 600, 1210, 1080]", "\"events\": [2, 5, 10, 19, 1, 3], \"exposure\": [60, 118, 300, 600, 62, 121]", "data[0].control.events[5]: must be a whole number from 0 to 2^53, got -1")]
    [InlineData("\"events\": [11, 9, 17, 8, 12, 10], \"exposure\": [1140, 1090, 900, 600, 1210]", "\"events\": [2, 5, 10, 19, 1, 3], \"exposure\": [60, 118, 300, 600, 62, 121]", "data[0].control.exposure: has 5 entries and events 6")]
    public async Task A_bad_counts_shape_is_an_input_error_naming_the_field(string control, string experiment, string expected)
    {
        var input = Counts.Replace("\"events\": [11, 9, 17, 8, 12, 10], \"exposure\": [1140, 1090, 900, 600, 1210, 1080]", control, StringComparison.Ordinal)
            .Replace("\"events\": [2, 5, 10, 19, 1, 3], \"exposure\": [60, 118, 300, 600, 62, 121]", experiment, StringComparison.Ordinal);
        await RefusedAsync(input, expected);
    }

    [Theory]
    [InlineData("[[900, 1100, 1138, 1140], [880, 1050, 1040, 1090]]", "data[0].control.buckets[1][2]: 1040 is below the count at the edge before (1050)")]
    [InlineData("[[900, 1100, 1138], [880, 1050, 1087, 1090]]", "data[0].control.buckets[0]: has 3 counts for 4 edges")]
    public async Task A_bad_histogram_shape_is_an_input_error_naming_the_field(string buckets, string expected)
    {
        var input = Histogram.Replace("[[900, 1100, 1138, 1140], [880, 1050, 1087, 1090]]", buckets, StringComparison.Ordinal);
        await RefusedAsync(input, expected);
    }

    [Theory]
    [InlineData("[\"0.05\", \"0.1\", \"0.25\", \"1\"]", "data[0].control.le[3]: \"1\": the last edge must be \"+Inf\"")]
    [InlineData("[\"0.1\", \"0.05\", \"0.25\", \"+Inf\"]", "data[0].control.le[1]: \"0.05\" must be a finite number above the edge before it")]
    public async Task Bad_edges_are_an_input_error_naming_the_field(string edges, string expected)
    {
        var input = Histogram.Replace("\"control\":    {\"le\": [\"0.05\", \"0.1\", \"0.25\", \"+Inf\"]", $"\"control\":    {{\"le\": {edges}", StringComparison.Ordinal);
        await RefusedAsync(input, expected);
    }

    [Fact]
    public async Task Different_edges_in_the_cohorts_are_an_input_error()
    {
        var input = Histogram.Replace("\"experiment\": {\"le\": [\"0.05\", \"0.1\", \"0.25\", \"+Inf\"]", "\"experiment\": {\"le\": [\"0.05\", \"0.2\", \"0.25\", \"+Inf\"]", StringComparison.Ordinal);
        await RefusedAsync(input, "data[0].experiment.le: must be the control's edges");
    }

    [Theory]
    [InlineData("\"nanStrategy\": \"replace\"", "config.metrics[0].nanStrategy: is not allowed on a sequential metric")]
    [InlineData("\"outliers\": {\"strategy\": \"remove\"}", "config.metrics[0].outliers: is not allowed on a sequential metric")]
    [InlineData("\"effectSize\": {\"measure\": \"cles\"}", "config.metrics[0].effectSize.measure: is not allowed on a sequential metric")]
    [InlineData("\"effectSize\": {\"criticalIncrease\": 2}", "config.metrics[0].effectSize.criticalIncrease: is not allowed on a sequential metric")]
    public async Task Fields_a_sequential_metric_does_not_take_are_input_errors(string field, string expected)
    {
        var input = Counts.Replace("\"method\": \"sequential\"", $"\"method\": \"sequential\", {field}", StringComparison.Ordinal);
        await RefusedAsync(input, expected);
    }

    [Fact]
    public async Task An_allowed_ratio_of_0_on_a_sequential_metric_is_an_input_error()
    {
        var input = Counts.Replace("\"method\": \"sequential\"", "\"method\": \"sequential\", \"effectSize\": {\"allowedIncrease\": 0}", StringComparison.Ordinal);
        await RefusedAsync(input, "config.metrics[0].effectSize.allowedIncrease: must be a ratio above 0 on a sequential metric");
    }

    [Fact]
    public async Task Edges_are_compared_as_numbers()
    {
        var input = Histogram.Replace("\"experiment\": {\"le\": [\"0.05\", \"0.1\", \"0.25\", \"+Inf\"]", "\"experiment\": {\"le\": [\"0.050\", \"0.10\", \"0.25\", \"+Inf\"]", StringComparison.Ordinal)
            .Replace("\"edge\": \"0.1\"", "\"edge\": \"0.100\"", StringComparison.Ordinal);
        var metric = await JudgeAsync(input);
        Assert.Equal("0.1", metric.GetProperty("sequential").GetProperty("edge").GetString());
    }

    [Fact]
    public async Task Samples_for_a_sequential_metric_are_an_input_error()
    {
        var input = """
            {"config": {"metrics": [{"name": "e", "method": "sequential"}]}, "data": [{"metric": "e", "control": [1, 2], "experiment": [1, 2]}]}
            """;
        await RefusedAsync(input, "data[0].control: \"e\" is a sequential metric");
    }

    [Fact]
    public async Task Counts_for_a_Mann_Whitney_metric_are_an_input_error()
    {
        var input = Counts.Replace(", \"method\": \"sequential\"", string.Empty, StringComparison.Ordinal);
        await RefusedAsync(input, "data[0].control: is an object, but \"error rate\" is judged by Mann–Whitney");
    }

    [Fact]
    public async Task No_interval_with_exposure_in_both_cohorts_is_NoData()
    {
        var input = """
            {"config": {"metrics": [{"name": "e", "method": "sequential"}]},
             "data": [{"metric": "e", "control": {"events": [1], "exposure": [100]}, "experiment": {"events": [0], "exposure": [0]}}]}
            """;
        var metric = await JudgeAsync(input);
        Assert.Equal("NoData", metric.GetProperty("classification").GetString());
    }

    [Fact]
    public async Task The_sequential_example_fails_on_its_tripled_errors_and_passes_its_latency()
    {
        var run = await CanaryRunner.RunAsync("judge", CanaryRunner.Example("sequential.json"));
        Assert.Equal(0, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        var metrics = output.RootElement.GetProperty("metrics");
        Assert.Equal(["High", "Pass"], metrics.EnumerateArray().Select(m => m.GetProperty("classification").GetString()));
        Assert.Equal("Fail", output.RootElement.GetProperty("classification").GetString());
    }

    [Fact]
    public async Task The_sequential_example_is_valid_by_the_input_schema()
    {
        Assert.Empty(Schemas.Problems(Schemas.JudgeInput, await File.ReadAllTextAsync(CanaryRunner.Example("sequential.json"))));
    }

    /// <summary>canary judge refuses input with exit 2 and a line containing expected.</summary>
    private static async Task RefusedAsync(string input, string expected)
    {
        var run = await CanaryRunner.RunWithInputAsync(input, "judge", "-");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(run.ErrorLines, l => l.Contains(expected, StringComparison.Ordinal));
    }

    private static (int Intervals, long Events, long Exposure) Totals(JsonElement cohort) =>
        (cohort.GetProperty("intervals").GetInt32(), cohort.GetProperty("events").GetInt64(), cohort.GetProperty("exposure").GetInt64());

    private static async Task<JsonElement> JudgeAsync(string input)
    {
        var run = await CanaryRunner.RunWithInputAsync(input, "judge", "-");
        Assert.True(run.ExitCode is 0 or 1, $"exit {run.ExitCode}: {run.Stderr}");
        return JsonDocument.Parse(run.Stdout).RootElement.GetProperty("metrics")[0].Clone();
    }
}
