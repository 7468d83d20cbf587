using System.Text.Json;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Cli;

public class JudgeCommandTests
{
    private const string Minimal = """
        {"config": {"metrics": [{"name": "latency", "direction": "increase"}]},
         "data": [{"metric": "latency", "control": [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
                   "experiment": [10, 11, 12, 13, 14, 15, 16, 17, 18, null]}]}
        """;

    /// <summary>Metric a has only null points for the canary; b has data on both sides.</summary>
    private const string NoCanaryData = """
        {"config": {"metrics": [{"name": "a"}, {"name": "b"}]},
         "data": [{"metric": "a", "control": [1, 2, 3], "experiment": [null, null]},
                  {"metric": "b", "control": [1, 2, 3], "experiment": [1, 2, 3]}]}
        """;

    [Fact]
    public async Task Judging_the_example_prints_the_contract_output_with_every_field()
    {
        var run = await CanaryRunner.RunAsync("judge", CanaryRunner.Example("checkout.json"));

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Stderr);
        using var output = JsonDocument.Parse(run.Stdout);
        var root = output.RootElement;
        Assert.Equal(75, root.GetProperty("score").GetDouble());
        Assert.Equal("Marginal", root.GetProperty("classification").GetString());
        Assert.False(root.GetProperty("inconclusive").GetBoolean());
        Assert.Equal(["latency", "errors", "saturation"], root.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("name").GetString()));
        var p99 = root.GetProperty("metrics")[0];
        Assert.Equal("High", p99.GetProperty("classification").GetString());
        Assert.StartsWith("p99 latency is 20.4 % higher", p99.GetProperty("reason").GetString(), StringComparison.Ordinal);
        foreach (var field in new[] { "pValue", "estimate", "lower", "upper", "confidenceLevel" })
        {
            Assert.Equal(JsonValueKind.Number, p99.GetProperty("test").GetProperty(field).ValueKind);
        }

        Assert.Equal(JsonValueKind.Number, p99.GetProperty("effectSize").GetProperty("meanRatio").ValueKind);
        Assert.Equal(120, p99.GetProperty("control").GetProperty("count").GetInt32());
        var cpu = root.GetProperty("metrics")[3];
        Assert.Equal(119, cpu.GetProperty("experiment").GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Gate_exits_1_when_the_verdict_is_not_Pass()
    {
        Assert.Equal(1, (await CanaryRunner.RunAsync("judge", CanaryRunner.Example("checkout.json"), "--gate")).ExitCode);
    }

    [Fact]
    public async Task Gate_exits_0_when_the_verdict_is_Pass()
    {
        Assert.Equal(0, (await CanaryRunner.RunWithInputAsync(Minimal, "judge", "-", "--gate")).ExitCode);
    }

    [Fact]
    public async Task Table_format_shows_one_line_per_metric_then_the_verdict()
    {
        var run = await CanaryRunner.RunAsync("judge", CanaryRunner.Example("checkout.json"), "--format", "table");
        Assert.Equal(0, run.ExitCode);
        var lines = run.Stdout.Split('\n');
        Assert.StartsWith("METRIC", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^p99 latency\s+latency\s+High\s", lines[1]);
        Assert.Contains(lines, l => l.StartsWith("Marginal: score 75.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Null_points_are_missing_data()
    {
        var run = await CanaryRunner.RunWithInputAsync(NoCanaryData, "judge", "-");
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.Equal("NoData", output.RootElement.GetProperty("metrics")[0].GetProperty("classification").GetString());
        Assert.True(output.RootElement.GetProperty("inconclusive").GetBoolean());
    }

    [Fact]
    public async Task A_null_test_is_written_for_a_metric_without_data()
    {
        var run = await CanaryRunner.RunWithInputAsync(NoCanaryData, "judge", "-");
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.Equal(JsonValueKind.Null, output.RootElement.GetProperty("metrics")[0].GetProperty("test").ValueKind);
    }

    public static TheoryData<string, string> BadDocuments => new()
    {
        { """{"config": {"metrics": [{"name": "a", "direction": "up"}]}, "data": [{"metric": "a", "control": [1], "experiment": [1]}]}""",
          "-:1 config.metrics[0].direction: \"up\" is not one of increase, decrease, either" },
        { """{"config": {"metrics": [{"name": "a"}], "groupWeights": {"default": "ten"}}, "data": [{"metric": "a", "control": [1], "experiment": [1]}]}""",
          "-:1 config.groupWeights.default: must be a number, got \"ten\"" },
        { """{"config": {"judge": {"confidenceLevel": 1}, "metrics": [{"name": "a"}]}, "data": [{"metric": "a", "control": [1], "experiment": [1]}]}""",
          "-:1 config.judge.confidenceLevel: must be between 0 and 1 (exclusive), got 1" },
        { """{"config": {"metrics": []}, "data": []}""",
          "-:1 config.metrics: must name at least one metric" },
        { """{"config": {"metrics": [{"name": "a"}]}, "data": [{"metric": "a", "control": [1, "x"], "experiment": [1]}]}""",
          "-:1 data[0].control[1]: must be a number or null, got \"x\"" },
        { """{"config": {"metrics": [{"name": "a"}]}, "data": [{"metric": "a", "control": {"v": 1}, "experiment": [1]}]}""",
          "-:1 data[0].control: is an object, but \"a\" is judged by Mann–Whitney on samples: give an array of numbers, or set the metric's \"method\": \"sequential\"" },
        { """{"config": {"metrics": [{"name": "a"}, {"name": "b"}]}, "data": [{"metric": "a", "control": [1], "experiment": [1]}]}""",
          "-:1 config.metrics[1]: \"b\" has no entry in data" },
        { """{"config": {"metrics": [{"name": "a"}]}, "data": [{"metric": "a", "control": [1], "experiment": [1]}, {"metric": "z", "control": [], "experiment": []}]}""",
          "-:1 data[1].metric: \"z\" is not a metric of config.metrics" },
        { """{"config": {"metrics": [{"name": "a", "critcal": true}]}, "data": [{"metric": "a", "control": [1], "experiment": [1]}]}""",
          "-:1 config.metrics[0].critcal: unknown field; expected one of name, group, direction, critical, mustHaveData, muted, nanStrategy, outliers, effectSize, method, edge" },
        { """{"config": {"metrics": [{"name": "a"}]}}""",
          "-: data: is required: an array of {\"metric\", \"control\", \"experiment\"}" },
        { """{"config": {"metrics": [{"name": 'a'}]}, "data": []}""",
          "-:1:34 config.metrics[0].name: malformed JSON: ''' is an invalid start of a value" },
    };

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public async Task Bad_input_exits_2_with_a_line_naming_the_field_without_a_verdict(string document, string problem)
    {
        var run = await CanaryRunner.RunWithInputAsync(document, "judge", "-");
        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Stdout);
        Assert.Contains($"canary judge: {problem}", run.ErrorLines);
    }

    [Fact]
    public async Task Every_problem_of_a_document_is_reported_at_once()
    {
        const string document = """
            {"config": {"judge": {"tolerance": -1}, "metrics": [{"name": "a", "direction": "up", "muted": "no"}]},
             "data": [{"metric": "a", "control": [1, true], "experiment": [1]}]}
            """;
        var run = await CanaryRunner.RunWithInputAsync(document, "judge", "-");
        Assert.Equal(
        [
            "canary judge: -:1 config.metrics[0].direction: \"up\" is not one of increase, decrease, either",
            "canary judge: -:1 config.metrics[0].muted: must be true or false, got \"no\"",
            "canary judge: -:2 data[0].control[1]: must be a number or null, got true",
            "canary judge: -:1 config.judge.tolerance: must be a finite number of at least 0, got -1",
        ], run.ErrorLines);
    }

    [Fact]
    public async Task A_file_that_cannot_be_read_exits_2()
    {
        var run = await CanaryRunner.RunAsync("judge", "/nonexistent/input.json");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(["canary judge: /nonexistent/input.json: cannot read: no such file"], run.ErrorLines);
    }

    [Theory]
    [InlineData(new[] { "judge", "a.json", "--fast" }, "canary judge: --fast: unknown flag for canary judge; known: --format, --gate, --help")]
    [InlineData(new[] { "judge", "a.json", "--format", "xml" }, "canary judge: --format: \"xml\" is not one of json, table")]
    [InlineData(new[] { "judge", "a.json", "--format" }, "canary judge: --format: needs a value (canary judge --help)")]
    [InlineData(new[] { "judge" }, "canary judge: FILE: missing; usage: canary judge FILE [--gate] [--format json|table]   (FILE '-' reads stdin)")]
    [InlineData(new[] { "jduge" }, "canary jduge: jduge: unknown command; run 'canary help'")]
    public async Task Usage_errors_exit_2_with_one_line(string[] args, string message)
    {
        var run = await CanaryRunner.RunAsync(args);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal([message], run.ErrorLines);
    }

    [Fact]
    public async Task The_published_executable_reports_bad_input_without_a_stack_trace()
    {
        var file = CanaryRunner.TempFile("bad.json", """{"config": {"metrics": [{"name": "a", "direction": 3}]}, "data": []}""");
        var run = await CanaryRunner.RunProcessAsync("judge", file);
        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains($"canary judge: {file}:1 config.metrics[0].direction: 3 is not one of increase, decrease, either", run.ErrorLines);
    }

    [Fact]
    public async Task The_published_executable_judges_the_example()
    {
        var run = await CanaryRunner.RunProcessAsync("judge", CanaryRunner.Example("checkout.json"), "--gate");
        Assert.Equal(1, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.Equal("Marginal", output.RootElement.GetProperty("classification").GetString());
    }
}
