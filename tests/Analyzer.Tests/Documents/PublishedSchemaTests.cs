using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Documents;

/// <summary>The JSON Schemas in schemas/ accept what canary accepts and writes, and reject what it rejects.</summary>
public sealed class PublishedSchemaTests
{
    public static TheoryData<string> CanaryExamples => new(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "examples", "canary"), "*.yaml").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(CanaryExamples))]
    public void Every_example_config_is_valid_by_the_schema(string file)
    {
        var json = Support.Schemas.YamlToJson(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "canary", file)));
        Assert.Empty(Support.Schemas.Problems(Support.Schemas.CanaryConfig, json));
    }

    [Theory]
    [InlineData("""{"metrics": [{"name": "a", "template": "http-error-rate", "direction": "up"}]}""", "/metrics/0/direction")]
    [InlineData("""{"metrics": [{"name": "a", "template": "http-error-rate", "query": "up"}]}""", "/metrics/0")]
    [InlineData("""{"metrics": [{"name": "a", "template": "http-error-rate", "critcal": true}]}""", "/metrics/0")]
    [InlineData("""{"metrics": [{"name": "a", "query": "up"}], "interval": "1x"}""", "/interval")]
    [InlineData("""{"metrics": []}""", "/metrics")]
    [InlineData("""{"metrics": [{"name": "a", "query": "up"}], "variables": {"cohort": "x"}}""", "/variables")]
    public void The_schema_rejects_what_canary_validate_rejects(string config, string location)
    {
        var problems = Support.Schemas.Problems(Support.Schemas.CanaryConfig, config);
        Assert.True(problems.Any(p => p.StartsWith(location, StringComparison.Ordinal)), string.Join("\n", problems));
    }

    [Fact]
    public void The_judge_example_is_valid_by_the_input_schema()
    {
        var input = File.ReadAllText(CanaryRunner.Example("checkout.json"));
        Assert.Empty(Support.Schemas.Problems(Support.Schemas.JudgeInput, input));
    }

    [Fact]
    public async Task The_judge_output_is_valid_by_the_output_schema()
    {
        var run = await CanaryRunner.RunAsync("judge", CanaryRunner.Example("checkout.json"));
        Assert.Empty(Support.Schemas.Problems(Support.Schemas.JudgeOutput, run.Stdout));
    }

    [Fact]
    public void The_output_schema_rejects_an_unknown_classification()
    {
        const string output = """{"score": 0, "classification": "Maybe", "inconclusive": false, "reason": "", "groups": [], "metrics": []}""";
        Assert.Contains(Support.Schemas.Problems(Support.Schemas.JudgeOutput, output), p => p.StartsWith("/classification", StringComparison.Ordinal));
    }

    [Fact]
    public void The_definitions_the_config_schema_shares_with_the_judge_input_schema_are_identical()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "schemas");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "canary-config.schema.json")))!["definitions"]!.AsObject();
        var judge = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "judge-input.schema.json")))!["definitions"]!.AsObject();
        var shared = config.Select(d => d.Key).Where(judge.ContainsKey).ToList();
        Assert.Contains("effectSize", shared);
        Assert.Contains("direction", shared);
        Assert.All(shared, name => Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(config[name], judge[name]), $"definitions.{name} differs"));
    }
}
