using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Cli;

public sealed class LocalCommandTests
{
    [Fact]
    public async Task Canary_local_refuses_bad_input_before_starting_anything()
    {
        var none = await CanaryRunner.RunAsync("local", "--prometheus", "http://127.0.0.1:9");
        Assert.Equal(2, none.ExitCode);
        Assert.Equal("canary local: CANARY.yaml: give at least one Canary file", none.ErrorLines[0]);

        // A Kubernetes Canary is not a local one.
        var cluster = await CanaryRunner.RunAsync("local", Path.Combine(AppContext.BaseDirectory, "examples", "rollouts", "checkout.yaml"), "--prometheus", "http://127.0.0.1:9");
        Assert.Equal(2, cluster.ExitCode);
        Assert.Contains("spec.targetRef: local mode runs targets of kind Process", cluster.Stderr, StringComparison.Ordinal);

        var folder = Directory.CreateTempSubdirectory("canary-test-").FullName;
        var example = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "local", "checkout.canary.yaml"));
        var file = Path.Combine(folder, "checkout.canary.yaml");
        File.WriteAllText(file, example.Replace("stepWeights: [10, 25, 50]", "stepWeights: [10, 250]", StringComparison.Ordinal));
        var invalid = await CanaryRunner.RunAsync("local", file, "--prometheus", "http://127.0.0.1:9", "--state", Path.Combine(folder, "state"));
        Assert.Equal(2, invalid.ExitCode);
        Assert.StartsWith($"canary local: {file}:23 spec.analysis.stepWeights", invalid.ErrorLines[0], StringComparison.Ordinal);

        var noPrometheus = await CanaryRunner.RunAsync("local", file);
        Assert.Equal(2, noPrometheus.ExitCode);
        Assert.Contains("--prometheus: is required", noPrometheus.Stderr, StringComparison.Ordinal);
    }
}
