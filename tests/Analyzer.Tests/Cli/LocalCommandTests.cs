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

    [Theory]
    [InlineData("../../../escaped", "shop", "metadata.name", "\"../../../escaped\" is not a Kubernetes name")]
    [InlineData("checkout", "../up", "metadata.namespace", "\"../up\" is not a Kubernetes namespace")]
    public async Task A_Canary_whose_name_would_be_a_path_outside_the_state_folder_is_refused_before_anything_is_written(string name, string ns, string path, string reason)
    {
        var folder = Directory.CreateTempSubdirectory("canary-test-").FullName;
        var nested = Directory.CreateDirectory(Path.Combine(folder, "a", "b", "c")).FullName;
        var example = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "local", "checkout.canary.yaml"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "examples", "local", "checkout.process.yaml"), Path.Combine(nested, "checkout.process.yaml"));
        var file = Path.Combine(nested, "checkout.canary.yaml");
        File.WriteAllText(file, example.Replace("metadata:\n  name: checkout\n  namespace: shop\n", $"metadata:\n  name: {name}\n  namespace: {ns}\n", StringComparison.Ordinal));
        var run = await CanaryRunner.RunAsync("local", file, "--prometheus", "http://127.0.0.1:9", "--state", Path.Combine(nested, "state"), "--store", $"sqlite:{Path.Combine(nested, "canary.db")}");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(run.ErrorLines, l => l.Contains($" {path}: {reason}", StringComparison.Ordinal));
        // Nothing outside the Canary's own folder (where the state folder is): the name reached no path.
        Assert.Equal([Path.Combine(folder, "a"), Path.Combine(folder, "a", "b")],
            Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Where(e => !e.StartsWith(nested, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.All(Directory.EnumerateFileSystemEntries(nested, "*", SearchOption.AllDirectories), entry => Assert.DoesNotContain("escaped", entry, StringComparison.Ordinal));
    }
}
