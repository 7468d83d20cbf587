using System.Text.Json;
using Canary.Analyzer.Cli;
using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>The commands that check configs and render queries without touching Prometheus.</summary>
public sealed class ValidateAndDryRunTests
{
    private static string CanaryExample(string name) => Path.Combine(AppContext.BaseDirectory, "examples", "canary", name);

    [Fact]
    public async Task The_published_executable_validates_the_examples_with_the_templates_next_to_it()
    {
        foreach (var example in new[] { "http.yaml", "istio.yaml", "nginx.yaml" })
        {
            var run = await CanaryRunner.RunProcessAsync("validate", CanaryExample(example));
            Assert.Equal(0, run.ExitCode);
            Assert.StartsWith($"{CanaryExample(example)}: valid: ", run.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_invalid_config_exits_2_with_every_problem_without_a_stack_trace()
    {
        var file = CanaryRunner.TempFile("bad.yaml", "metrics:\n  - name: a\n    template: http-error-rate\n    direction: up\n  - name: b\n");
        var run = await CanaryRunner.RunProcessAsync("validate", file);
        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Stdout);
        Assert.Equal(
        [
            $"canary validate: {file}:4 metrics[0].direction: \"up\" is not one of increase, decrease, either",
            $"canary validate: {file}:5 metrics[1]: needs exactly one of \"template\" (a file in queries/) and \"query\" (inline PromQL)",
        ], run.ErrorLines);
    }

    [Fact]
    public async Task A_malformed_template_is_a_load_error_at_its_line_in_its_file()
    {
        var folder = Directory.CreateTempSubdirectory("canary-queries-").FullName;
        File.WriteAllText(Path.Combine(folder, "broken.promql"), "# kind: ratio\n# colour: red\nsum(rate(x_total{ {{cohort}}, job={{job}} }[{{interval}}]))\n");
        var config = CanaryRunner.TempFile("c.yaml", "variables: {job: api}\nmetrics:\n  - name: broken\n    template: broken\n");
        var run = await CanaryRunner.RunAsync("validate", config, "--queries", folder);
        Assert.Equal(2, run.ExitCode);
        // The template by its file name: never the folder's path (an API caller must not learn where canary is installed).
        const string template = "broken.promql";
        Assert.Equal(
        [
            $"canary validate: {config}:4 metrics[0].template: {template}:2: unknown header key \"colour\"; expected kind, unit, direction, description",
            $"canary validate: {template}:3: {{{{job}}}} must stand inside a double-quoted string, e.g. label=\"{{{{job}}}}\", so its value cannot change the query",
        ], run.ErrorLines);
    }

    [Fact]
    public async Task Dry_run_prints_the_rendered_queries_without_contacting_Prometheus()
    {
        var run = await CanaryRunner.RunAsync(
            "analyze", "--config", CanaryExample("istio.yaml"), "--control", "destination_version=\"v1\"", "--experiment", "destination_version=\"v2\"",
            "--start", "now-30m", "--interval", "2m", "--var", "namespace=pay\"ments", "--dry-run");
        Assert.Equal(0, run.ExitCode);
        using var output = JsonDocument.Parse(run.Stdout);
        Assert.Equal(["queries"], output.RootElement.EnumerateObject().Select(p => p.Name));
        var errors = output.RootElement.GetProperty("queries").GetProperty("errors");
        // A sequential metric counts over {{range}}, the step (1m, the config's interval); --interval is for sampled metrics.
        Assert.Equal(
            "sum(increase(istio_requests_total{destination_workload_namespace=\"pay\\\"ments\", reporter=\"destination\", destination_version=\"v2\", response_code=~\"5..\"}[1m])) or vector(0)",
            errors.GetProperty("experiment").GetString());
        Assert.Equal(
            "sum(increase(istio_requests_total{destination_workload_namespace=\"pay\\\"ments\", reporter=\"destination\", destination_version=\"v2\"}[1m]))",
            errors.GetProperty("experimentExposure").GetString());
    }

    [Theory]
    [InlineData(new[] { "--start", "now-30m" }, "canary analyze: --config: is required; see canary analyze --help")]
    [InlineData(new[] { "--config", "x.yaml", "--control", "a=\"b\"", "--experiment", "a=\"c\"", "--start", "yesterday" }, "canary analyze: x.yaml: cannot read: no such file")]
    [InlineData(new[] { "--start", "yesterday" }, "canary analyze: --start: \"yesterday\" is not a time: use RFC 3339 (2026-11-28T10:00:00Z), unix seconds, now, or now-DURATION such as now-30m")]
    [InlineData(new[] { "--start", "now-5m", "--end", "now-10m" }, "canary analyze: --end: ")]
    [InlineData(new[] { "--start", "now-30d", "--step", "10s" }, "canary analyze: --step: 10s gives 259200 steps over the window; Prometheus allows 11000: use a larger step or a shorter window")]
    [InlineData(new[] { "--start", "now-5m", "--step", "fast" }, "canary analyze: --step: \"fast\" is not a duration such as 30s, 1m or 1h30m")]
    [InlineData(new[] { "--start", "now-5m", "--step", "0s" }, "canary analyze: --step: \"0s\" is not a duration such as 30s, 1m or 1h30m")]
    [InlineData(new[] { "--start", "now-99y" }, "canary analyze: --start: \"now-99y\" is out of range: times run from 1970 on")]
    [InlineData(new[] { "--start", "now-3000y" }, "canary analyze: --start: \"now-3000y\" is not a time")]
    [InlineData(new[] { "--start", "now-5m", "--prometheus", "http://x", "--timeout", "2d" }, "canary analyze: --timeout: must be above 0 and at most 1h")]
    [InlineData(new[] { "--start", "now-5m", "--prometheus", "http://admin:hunter2@x" }, "canary analyze: --prometheus: the URL holds credentials; give them with --username and --password-file")]
    [InlineData(new[] { "--start", "now-5m", "--prometheus", "http://x", "--header", "X-Api Key: a" }, "canary analyze: --header: \"X-Api Key\" is not a header name")]
    [InlineData(new[] { "--start", "now-5m", "--var", "novalue" }, "canary analyze: --var: \"novalue\" is not key=value")]
    [InlineData(new[] { "--start", "now-5m", "--prometheus", "ftp://x" }, "canary analyze: --prometheus: \"ftp://x/\" is not an http or https URL")]
    [InlineData(new[] { "--start", "now-5m", "--prometheus", "http://x", "--header", "X-Api-Key=secret" }, "canary analyze: --header: give 'Name: value' (a name, a colon, the value)")]
    [InlineData(new[] { "--start", "now-5m", "--prometheus", "http://x", "--ca-file", "/nonexistent/ca.pem" }, "canary analyze: --ca-file: /nonexistent/ca.pem: no such file")]
    [InlineData(new[] { "--start", "now-5m" }, "canary analyze: --prometheus: is required")]
    public async Task Bad_flags_exit_2_with_a_line_naming_the_flag(string[] flags, string start)
    {
        var defaults = new List<string> { "analyze" };
        if (!flags.Contains("--config"))
        {
            defaults.AddRange(["--config", CanaryExample("http.yaml"), "--control", "pod=\"a\"", "--experiment", "pod=\"b\""]);
        }

        if (flags.SequenceEqual(["--start", "now-30m"]))
        {
            defaults = ["analyze", "--control", "pod=\"a\"", "--experiment", "pod=\"b\""];
        }

        var run = await CanaryRunner.RunAsync([.. defaults, .. flags]);
        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("secret", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(run.ErrorLines, l => l.StartsWith(start, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("not a certificate\n", "holds no PEM certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "")]
    public async Task A_CA_file_without_a_usable_certificate_is_bad_input(string content, string reason)
    {
        var ca = CanaryRunner.TempFile("ca.pem", content);
        var run = await CanaryRunner.RunAsync(
            "analyze", "--config", CanaryExample("http.yaml"), "--control", "pod=\"a\"", "--experiment", "pod=\"b\"", "--start", "now-5m",
            "--prometheus", "https://127.0.0.1:1", "--ca-file", ca);
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith($"canary analyze: --ca-file: {ca}: ", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_template_that_needs_a_namespace_without_one_is_bad_input()
    {
        var config = CanaryRunner.TempFile("c.yaml", "metrics:\n  - name: errors\n    template: http-error-rate\n");
        var run = await CanaryRunner.RunAsync("analyze", "--config", config, "--control", "pod=\"a\"", "--experiment", "pod=\"b\"", "--start", "now-5m", "--dry-run");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"canary analyze: namespace: the queries of \"errors\" use {{{{namespace}}}}; set \"namespace:\" in {config} or give --var namespace=NAME"], run.ErrorLines);
    }
}
