using System.Text.Json.Nodes;
using Canary.Analyzer.Simulation;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Simulation;

/// <summary>The seeded smoke of `canary simulate` that CI runs: a few hundred rollouts through the real state machine and Judge.</summary>
public sealed class SimulateCommandTests(SimulateCommandTests.Smoke smoke) : IClassFixture<SimulateCommandTests.Smoke>
{
    [Fact]
    public void Healthy_releases_are_rolled_back_no_more_often_than_the_sequential_rule_promises()
    {
        // Two sequential metrics at confidence 0.99 roll back an A/A release at most 2 % of the time, on scrapes, repeated looks and all:
        // the observed share may not be significantly above that.
        var aa = smoke.Result("A/A 20 req/s", SimulationRules.Sequential);
        Assert.True(aa.Low <= 0.02, $"A/A rolled back {aa.Share:P2} (95 % interval from {aa.Low:P2})");
    }

    [Fact]
    public void A_canary_20_percent_slower_is_rolled_back_on_sequential_evidence_in_most_releases()
    {
        Assert.True(smoke.Result("+20 % latency 50 req/s", SimulationRules.Sequential).Share >= 0.9);
    }

    [Fact]
    public void The_threshold_rule_does_not_see_a_latency_regression_under_its_limit()
    {
        // histogram_quantile's p99, interpolated in the 250–500 ms bucket, goes from about 429 to 472 ms: under Flagger's 500 ms, a check
        // without a baseline promotes it.
        Assert.True(smoke.Result("+20 % latency 50 req/s", SimulationRules.Threshold).Share <= 0.05);
    }

    [Fact]
    public void An_error_burst_in_both_cohorts_fails_threshold_checks_but_not_a_comparison()
    {
        var threshold = smoke.Result("A/A error burst in both", SimulationRules.Threshold);
        var sequential = smoke.Result("A/A error burst in both", SimulationRules.Sequential);
        Assert.True(threshold.Share > sequential.High, $"threshold {threshold.Share:P1}, sequential {sequential.Share:P1} – {sequential.High:P1}");
    }

    [Fact]
    public async Task A_canary_exactly_as_bad_as_allowed_is_rolled_back_no_more_often_than_alpha_allows()
    {
        // errors × 1.2 is the errors metric's allowedIncrease: the edge of its null, where a sequential test is most often wrong.
        // Both metrics at α = 0.01 roll back at most 2 % of such releases: the observed share may not be significantly above that.
        var file = CanaryRunner.TempFile("edge.yaml", """
            seed: 3
            rules: [sequential]
            scenarios:
              - {name: edge, requests: 200, errors: 0.02, canary: {errors: 1.2}}
            """);
        var run = await CanaryRunner.RunAsync("simulate", "--scenarios", file, "--rollouts", "400", "--format", "json");
        var share = JsonNode.Parse(run.Stdout)!["results"]![0]!["rolledBackShare"]!;
        Assert.True(share["low"]!.GetValue<double>() <= 0.02, run.Stdout);
    }

    [Fact]
    public async Task The_rule_before_sequential_evidence_counts_analyses_without_evidence_as_failed_checks()
    {
        // 30 samples at 15 s steps take the canary until 8.5 minutes in: its analyses at 2 to 6 minutes are five without evidence.
        Assert.Equal(1.0, await ThinShareAsync(SimulationRules.MannWhitneyBefore));
    }

    [Fact]
    public async Task The_Mann_Whitney_rule_holds_through_analyses_without_evidence()
    {
        // The same releases: waiting for 30 samples holds them, and at most the rule's own false alarms roll any back.
        Assert.True(await ThinShareAsync(SimulationRules.MannWhitney) <= 0.1);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_study()
    {
        var again = await CanaryRunner.RunAsync("simulate", "--scenarios", smoke.File, "--format", "json");
        Assert.Equal(smoke.Json, again.Stdout);
    }

    [Fact]
    public async Task A_table_has_a_row_per_scenario_and_rule_with_the_rollback_share_and_its_interval()
    {
        var run = await CanaryRunner.RunAsync("simulate", "--scenarios", smoke.File, "--rollouts", "20", "--rules", "sequential", "--format", "table");
        Assert.Equal(0, run.ExitCode);
        var row = Assert.Single(run.Stdout.Split('\n'), l => l.StartsWith("+20 % latency 50 req/s *", StringComparison.Ordinal));
        Assert.Matches(@"sequential\s+\d+\.\d+ % \(\d+\.\d+ % – \d+\.\d+ %\)", row);
    }

    [Fact]
    public async Task A_mistake_in_a_scenario_file_names_its_line_and_field()
    {
        var file = CanaryRunner.TempFile("scenarios.yaml", "scenarios:\n  - name: slow\n    requests: -3\n");
        var run = await CanaryRunner.RunAsync("simulate", "--scenarios", file);
        Assert.Equal((2, $"canary simulate: {file}:3 scenarios[0].requests: must be from 0.01 to 100000, got -3"), (run.ExitCode, run.Stderr.Trim()));
    }

    [Fact]
    public void The_upper_bound_of_no_rollback_in_n_is_z_squared_over_n_plus_z_squared()
    {
        // Wilson's interval at k = 0 has the closed form z² / (n + z²): 3.8415 / 23.8415 for n = 20.
        Assert.Equal(1.959963984540054 * 1.959963984540054 / (20 + (1.959963984540054 * 1.959963984540054)), Study.Wilson(0, 20).High, 12);
    }

    /// <summary>The share of healthy releases a rule rolls back when minSamples is more than the canary has for its first analyses.</summary>
    private static async Task<double> ThinShareAsync(string rule)
    {
        var file = CanaryRunner.TempFile("thin.yaml", """
            seed: 5
            analysis: {minSamples: 30}
            scenarios:
              - {name: A/A, requests: 50}
            """);
        var run = await CanaryRunner.RunAsync("simulate", "--scenarios", file, "--rollouts", "20", "--rules", rule, "--format", "json");
        return JsonNode.Parse(run.Stdout)!["results"]![0]!["rolledBackShare"]!["estimate"]!.GetValue<double>();
    }

    /// <summary>One seeded run of the smoke scenarios (JSON), shared by the tests that read its numbers.</summary>
    public sealed class Smoke : IAsyncLifetime
    {
        private JsonArray? results;

        public string File { get; } = CanaryRunner.TempFile("smoke.yaml", """
            rollouts: 120
            seed: 11
            rules: [threshold, sequential]
            scenarios:
              - {name: A/A 20 req/s, requests: 20}
              - {name: +20 % latency 50 req/s, requests: 50, canary: {latency: 1.2}}
              - {name: A/A error burst in both, requests: 50, burst: {at: 2m, for: 6m, errors: 0.05}}
            """);

        public string Json { get; private set; } = string.Empty;

        public (double Share, double Low, double High) Result(string scenario, string rule)
        {
            var row = Assert.Single(results!, r => r!["scenario"]!.GetValue<string>() == scenario && r["rule"]!.GetValue<string>() == rule)!["rolledBackShare"]!;
            return (row["estimate"]!.GetValue<double>(), row["low"]!.GetValue<double>(), row["high"]!.GetValue<double>());
        }

        public async Task InitializeAsync()
        {
            var run = await CanaryRunner.RunAsync("simulate", "--scenarios", File, "--format", "json");
            Assert.True(run.ExitCode == 0, run.Stderr);
            Json = run.Stdout;
            results = JsonNode.Parse(Json)!["results"]!.AsArray();
        }

        public Task DisposeAsync() => Task.CompletedTask;
    }
}
