using Canary.Analyzer.Documents;
using Canary.Analyzer.Cli;
using Canary.Analyzer.Metrics;
using Canary.Judge.Config;

namespace Canary.Analyzer.Tests.Metrics;

public sealed class CanaryConfigReaderTests
{
    private static readonly TemplateLibrary Shipped = TemplateLibrary.Default();

    /// <summary>A YAML config with the judge's settings, a metric by template and one by inline query.</summary>
    private const string Checkout = """
        name: checkout
        namespace: shop
        interval: 2m
        step: 1m
        variables:
          route: /pay
        judge: {confidenceLevel: 0.95, tolerance: 0.1}
        groupWeights: {errors: 70, latency: 30}
        thresholds: {pass: 90, marginal: 60}
        metrics:
          - name: error rate
            template: http-error-rate
            group: errors
            critical: true
          - name: route latency
            query: sum(rate(route_seconds_sum{route="{{route}}", {{cohort}}}[{{interval}}]))
            kind: latency
            unit: seconds
            direction: decrease
            pool: true
            group: latency
        """;

    [Fact]
    public void A_YAML_config_carries_the_judge_settings()
    {
        var config = CanaryConfigReader.Read("checkout.yaml", Checkout, Shipped);
        Assert.Equal("checkout", config.Judge.Name);
        Assert.Equal("shop", config.Namespace);
        Assert.Equal(("2m", "1m"), (config.Interval, config.Step));
        Assert.Equal(0.95, config.Judge.Judge.ConfidenceLevel);
        Assert.Equal(70, config.Judge.GroupWeights["errors"]);
        Assert.Equal(90, config.Judge.Thresholds.Pass);
    }

    [Fact]
    public void A_metric_by_template_takes_what_its_config_leaves_out_from_the_templates_header()
    {
        var config = CanaryConfigReader.Read("checkout.yaml", Checkout, Shipped);
        var errors = config.Judge.Metrics[0];
        Assert.True(errors.Critical);
        // The template's header gives the direction when the config does not.
        Assert.Equal(Direction.Increase, errors.Direction);
        Assert.Equal("http-error-rate", config.Metrics[0].TemplateName);
        Assert.Equal("ratio", config.Metrics[0].Kind);
    }

    [Fact]
    public void A_metric_by_inline_query_renders_with_the_configs_variables()
    {
        var config = CanaryConfigReader.Read("checkout.yaml", Checkout, Shipped);
        var route = config.Metrics[1];
        Assert.Null(route.TemplateName);
        Assert.True(route.Pool);
        Assert.Equal(("latency", "seconds"), (route.Kind, route.Unit));
        Assert.Equal(Direction.Decrease, config.Judge.Metrics[1].Direction);
        var rendered = MetricCollector.Render(config, new Cohorts("version=\"v1\"", "version=\"v2\""), "2m", "1m");
        Assert.Equal("sum(rate(route_seconds_sum{route=\"/pay\", version=\"v2\"}[2m]))", rendered["route latency"].Experiment);
    }

    [Fact]
    public void The_step_defaults_to_the_interval_so_samples_do_not_overlap()
    {
        var config = CanaryConfigReader.Read("c.yaml", "interval: 2m\nmetrics:\n  - {name: cpu, template: cpu-usage}\n", Shipped);
        Assert.Equal(("2m", "2m"), (config.Interval, config.Step));
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void A_step_shorter_than_the_interval_is_a_warning_that_says_why()
    {
        var config = CanaryConfigReader.Read("c.yaml", "interval: 1m\nstep: 30s\nmetrics:\n  - {name: cpu, template: cpu-usage}\n", Shipped);
        var warning = Assert.Single(config.Warnings);
        Assert.StartsWith("step: 30s is shorter than interval 1m: each sample's rate() window overlaps the next one's", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Sequential_metrics_alone_take_no_warning_for_a_short_step()
    {
        // Their counts never overlap: each interval is one step.
        var config = CanaryConfigReader.Read("c.yaml", "interval: 1m\nstep: 30s\nmetrics:\n  - {name: errors, template: http-errors}\n", Shipped);
        Assert.Empty(config.Warnings);
        Assert.Equal(Canary.Judge.Config.JudgeMethod.Sequential, config.Judge.Metrics[0].Method);
    }

    [Fact]
    public void JSON_configs_read_as_YAML_configs_do()
    {
        var config = CanaryConfigReader.Read("c.json", """{"namespace": "shop", "metrics": [{"name": "p99", "template": "http-latency-p99"}]}""", Shipped);
        Assert.Equal("p99", Assert.Single(config.Judge.Metrics).Name);
    }

    [Fact]
    public void Problems_of_a_JSON_config_have_lines_too()
    {
        var malformed = Assert.Throws<InputException>(() => CanaryConfigReader.Read("c.json", "{\"metrics\": [}", Shipped));
        Assert.Equal(["c.json:1:14 metrics: malformed JSON: '}' is an invalid start of a value"], malformed.Problems);

        var e = Assert.Throws<InputException>(() => CanaryConfigReader.Read("c.json", """
            {
              "metrics": [
                {"name": "p99", "template": "http-latency-p99", "direction": "up"}
              ]
            }
            """, Shipped));
        Assert.Equal(["c.json:3 metrics[0].direction: \"up\" is not one of increase, decrease, either"], e.Problems);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_in_file_order_at_its_line_with_its_field()
    {
        var e = Assert.Throws<InputException>(() => CanaryConfigReader.Read("checkout.yaml", """
            name: checkout
            interval: 1x
            metrics:
              - name: a
                template: http-error-rate
              - name: b
                template: nope
              - name: c
                template: http-latency-p99
                direction: up
              - name: d
                query: sum(up{ {{cohort}} })
                kind: gauges
              - name: e
                query: sum(rate(x{ {{cohort}}, job={{service}} }[{{interval}}]))
              - name: f
                critcal: true
                template: cpu-usage
              - name: g
              - name: a
                template: http-latency-p50
                unit: ms
            groupWeights: {errors: 50}
            thresholds: {pass: 50, marginal: 80}
            """, Shipped));
        Assert.Equal(
        [
            "checkout.yaml:2 interval: \"1x\" is not a PromQL duration such as 30s, 1m or 1h30m (above 0, at most 100y)",
            $"checkout.yaml:7 metrics[1].template: no template \"nope\" in the shipped templates; known: {string.Join(", ", Shipped.Names())}",
            "checkout.yaml:10 metrics[2].direction: \"up\" is not one of increase, decrease, either",
            "checkout.yaml:13 metrics[3].kind: \"gauges\" is not one of ratio, latency, count, gauge, events, histogram",
            "checkout.yaml:15 metrics[4].query: unknown placeholder {{service}}; known: cohort, interval, namespace, range",
            "checkout.yaml:17 metrics[5].critcal: unknown field; expected one of name, group, direction, critical, mustHaveData, muted, nanStrategy, outliers, effectSize, template, query, kind, unit, pool, edge",
            "checkout.yaml:19 metrics[6]: needs exactly one of \"template\" (a file in queries/) and \"query\" (inline PromQL)",
            "checkout.yaml:20 metrics[7].name: \"a\" is used by an earlier metric; names must be unique",
            "checkout.yaml:22 metrics[7].unit: comes from the template's header; \"unit\" goes with an inline \"query\"",
            "checkout.yaml:23 groupWeights.errors: no metric is in group \"errors\"",
            "checkout.yaml:24 thresholds.marginal: must not exceed the pass threshold 50, got 80",
        ], e.Problems);
    }

    [Theory]
    [InlineData("metrics: [", "checkout.yaml:2:1 metrics: malformed YAML: ")]
    [InlineData("metrics:\n  - name: a\n    name: b\n", "checkout.yaml:3 metrics[0].name: duplicate key \"name\"")]
    [InlineData("- just\n- a list\n", "checkout.yaml:1 document: must be an object, got an array")]
    [InlineData("{\"metrics\": [}", "checkout.yaml:1:14 metrics: malformed YAML: ")]
    [InlineData("thresholds: {pass: 0x1FFFFFFFFFFFFFFFF}\nmetrics:\n  - {name: a, template: cpu-usage}\n", "checkout.yaml:1 thresholds.pass: must be a finite number, got 0x1FFFFFFFFFFFFFFFF")]
    [InlineData("metrics:\n  - name: a\n    template: http-error-rate\n    critical: \"yes\"\n", "checkout.yaml:4 metrics[0].critical: must be true or false, got \"yes\"")]
    [InlineData("metrics:\n  - name: a\n    template: ../secrets\n", "checkout.yaml:3 metrics[0].template: \"../secrets\" is not a template name")]
    public void Malformed_documents_or_wrong_types_name_the_line(string text, string start)
    {
        var e = Assert.Throws<InputException>(() => CanaryConfigReader.Read("checkout.yaml", text, Shipped));
        Assert.StartsWith(start, e.Problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_template_that_uses_an_undeclared_variable_is_an_error_until_the_config_declares_it()
    {
        var folder = Directory.CreateTempSubdirectory("canary-queries-").FullName;
        File.WriteAllText(Path.Combine(folder, "route-errors.promql"), "# kind: ratio\n# direction: increase\nsum(rate(errors_total{route=\"{{route}}\", {{cohort}}}[{{interval}}]))\n");
        var library = new TemplateLibrary(folder);
        const string config = "metrics:\n  - name: route errors\n    template: route-errors\n";
        var e = Assert.Throws<InputException>(() => CanaryConfigReader.Read("c.yaml", config, library));
        Assert.Equal([$"c.yaml:3 metrics[0].template: route-errors.promql:3: unknown placeholder {{{{route}}}}; known: cohort, interval, namespace, range"], e.Problems);

        Assert.Single(CanaryConfigReader.Read("c.yaml", config + "variables: {route: /pay}\n", library).Metrics);
        Assert.Single(CanaryConfigReader.Read("c.yaml", config, library, new Dictionary<string, string> { ["route"] = "/pay" }).Metrics);
    }

    [Fact]
    public void Command_line_variables_override_the_configs()
    {
        Assert.Equal("/b", ReadWithCommandLineVariables().Variables["route"]);
    }

    [Fact]
    public void The_namespace_is_a_variable_the_command_line_overrides()
    {
        var config = ReadWithCommandLineVariables();
        Assert.Equal("staging", config.Namespace);
        Assert.False(config.Variables.ContainsKey("namespace"));
    }

    [Fact]
    public void Nesting_deeper_than_64_levels_is_refused_in_YAML_as_in_JSON()
    {
        var deep = "metrics: " + new string('[', 100) + new string(']', 100) + "\n";
        var e = Assert.Throws<InputException>(() => CanaryConfigReader.Read("deep.yaml", deep, Shipped));
        Assert.Equal(["deep.yaml:1: nested more than 64 levels deep"], e.Problems);
    }

    /// <summary>A config of namespace shop and variable route /a, read with namespace staging and route /b from the command line.</summary>
    private static CanaryConfig ReadWithCommandLineVariables() =>
        CanaryConfigReader.Read("c.yaml", "namespace: shop\nvariables: {route: /a}\nmetrics:\n  - name: e\n    template: http-error-rate\n", Shipped,
            new Dictionary<string, string> { ["namespace"] = "staging", ["route"] = "/b" });
}
