using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Tests.Support;
using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Tests.Rollouts;

public sealed class CanaryResourceReaderTests
{
    private static readonly TemplateLibrary Templates = TemplateLibrary.Default();

    private static readonly string LocalExample = Path.Combine(AppContext.BaseDirectory, "examples", "local", "checkout.canary.yaml");

    private const string Minimal = """
        apiVersion: canary.dev/v1alpha1
        kind: Canary
        metadata: {name: checkout, namespace: shop}
        spec:
          targetRef: {apiVersion: apps/v1, kind: Deployment, name: checkout}
          analysis:
            config:
              metrics:
                - {name: error rate, template: istio-error-rate}
        """;

    [Fact]
    public void The_example_reads_with_every_field_including_its_gates()
    {
        var (resource, problems) = CanaryResourceReader.Read("checkout.yaml", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "rollouts", "checkout.yaml")), Templates);
        Assert.Empty(problems);
        Assert.NotNull(resource);
        Assert.Equal(("shop/checkout", "checkout", "istio"), (resource.Key, resource.Target, resource.Router));
        Assert.Equal([5, 10, 25, 50], resource.Rollout.StepWeights);
        Assert.Equal((5, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10)), (resource.Rollout.Threshold, resource.Rollout.WarmUp, resource.Rollout.ProgressDeadline));
        Assert.True(resource.Rollout.ConfirmPromotion);
        Assert.False(resource.Rollout.ConfirmTrafficIncrease);
        Assert.Equal(8080, resource.Routes.Port);
        Assert.Equal(["checkout.shop.svc.cluster.local"], resource.Routes.Hosts);
        Assert.Equal(["errors", "latency"], resource.Config!.Judge.Metrics.Select(m => m.Name));
        // The resource's namespace fills {{namespace}}.
        Assert.Equal("shop", resource.Config.Namespace);
        Assert.Equal(["load-test", "release-manager"], resource.Webhooks.Select(w => w.Name));
        Assert.Equal(TimeSpan.FromSeconds(5), resource.Webhooks[0].Timeout);
    }

    [Fact]
    public void Defaults_follow_Flagger()
    {
        var (resource, problems) = CanaryResourceReader.Read("c.yaml", Minimal, Templates);
        Assert.Empty(problems);
        Assert.Equal(("istio", RolloutStrategy.Canary, 5), (resource!.Router, resource.Rollout.Strategy, resource.Rollout.Threshold));
        Assert.Equal([10, 20, 30, 40, 50], resource.Rollout.StepWeights);
        Assert.Equal((TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), 10), (resource.Interval, resource.Window, resource.MinSamples));
    }

    [Theory]
    [InlineData("stepWeight: 20\n    maxWeight: 60", new[] { 20, 40, 60 })]
    [InlineData("stepWeight: 25", new[] { 25, 50 })]
    [InlineData("stepWeights: [1, 2, 50, 100]", new[] { 1, 2, 50, 100 })]
    public void Steps_come_from_step_weights_or_step_weight_up_to_max_weight(string steps, int[] expected)
    {
        var (resource, problems) = CanaryResourceReader.Read("c.yaml", Minimal.Replace("  analysis:\n", $"  analysis:\n    {steps}\n", StringComparison.Ordinal), Templates);
        Assert.Empty(problems);
        Assert.Equal(expected, resource!.Rollout.StepWeights);
    }

    [Theory]
    [InlineData("iterations: 5", "service", nameof(RolloutStrategy.BlueGreen))]
    [InlineData("iterations: 5\n    match: {header: x-canary, value: insider}", "nginx", nameof(RolloutStrategy.AbTest))]
    [InlineData("strategy: blueGreen", "istio", nameof(RolloutStrategy.BlueGreen))]
    public void The_strategy_is_inferred_as_Flagger_does_or_named(string fields, string router, string strategyName)
    {
        var strategy = Enum.Parse<RolloutStrategy>(strategyName);
        var text = Minimal.Replace("  analysis:\n", $"  router: {router}\n  analysis:\n    {fields}\n", StringComparison.Ordinal);
        var (resource, problems) = CanaryResourceReader.Read("c.yaml", text, Templates);
        Assert.Empty(problems);
        Assert.Equal(strategy, resource!.Rollout.Strategy);
        if (strategy == RolloutStrategy.AbTest)
        {
            Assert.Equal(new RouteMatch("x-canary", "insider"), resource.Rollout.Match);
        }
    }

    [Fact]
    public void Every_problem_is_named_at_its_line_with_its_field()
    {
        const string text = """
            apiVersion: canary.dev/v1
            kind: Canary
            metadata: {namespace: shop}
            spec:
              targetRef: {kind: StatefulSet, name: db}
              router: linkerd
              analysis:
                interval: soon
                threshold: 0
                stepWeights: [10, 5, 200]
                mirror: true
                webhooks:
                  - {name: gate, type: confirm, url: "ftp://x"}
                config:
                  metrics:
                    - {name: e, template: istio-error-rate, direction: up}
            """;
        var (resource, problems) = CanaryResourceReader.Read("canary.yaml", text, Templates);
        Assert.Null(resource);
        Assert.Equal(
        [
            "canary.yaml:1 apiVersion: \"canary.dev/v1\" is not canary.dev/v1alpha1",
            "canary.yaml:3 metadata.name: is required",
            "canary.yaml:5 spec.targetRef.kind: \"StatefulSet\" is not Deployment (Kubernetes) or Process (local workloads)",
            "canary.yaml:6 spec.router: \"linkerd\" is not one of istio, nginx, traefik, service, haproxy",
            "canary.yaml:8 spec.analysis.interval: \"soon\" is not a duration such as 30s, 1m or 1h30m",
            "canary.yaml:9 spec.analysis.threshold: must be a whole number from 1 to 1000, got 0",
            "canary.yaml:10 spec.analysis.stepWeights[1]: 5 is not above the step before it (10); weights only increase",
            "canary.yaml:10 spec.analysis.stepWeights[2]: must be a whole percentage from 1 to 100, got 200",
            "canary.yaml:11 spec.analysis.mirror: mirroring needs the istio router, not linkerd",
            "canary.yaml:13 spec.analysis.webhooks[0].type: \"confirm\" is not one of pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback",
            "canary.yaml:13 spec.analysis.webhooks[0].url: \"ftp://x\" is not an http or https URL",
            "canary.yaml:16 spec.analysis.config.metrics[0].direction: \"up\" is not one of increase, decrease, either",
        ], problems);
    }

    [Theory]
    [InlineData("router: service", "", "spec.router: the service router switches all traffic at once: use strategy blueGreen")]
    [InlineData("router: traefik", "    iterations: 3\n    match: {cookie: canary}\n", "spec.router: A/B tests need a router that matches requests (istio, nginx), not traefik")]
    [InlineData("router: istio", "    strategy: abTest\n", "spec.analysis.match: an A/B test needs a match")]
    public void Strategies_a_router_cannot_carry_are_refused(string router, string analysis, string problem)
    {
        var text = Minimal.Replace("  analysis:\n", $"  {router}\n  analysis:\n{analysis}", StringComparison.Ordinal);
        var (_, problems) = CanaryResourceReader.Read("c.yaml", text, Templates);
        Assert.Contains(problems, p => p.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Canary_validate_checks_a_canary_resource()
    {
        var run = await CanaryRunner.RunProcessAsync("validate", Path.Combine(AppContext.BaseDirectory, "examples", "rollouts", "checkout.yaml"));
        Assert.Equal(0, run.ExitCode);
        Assert.EndsWith("valid: Canary shop/checkout, router istio, canary 5 % → 10 % → 25 % → 50 %, every 1m\n", run.Stdout, StringComparison.Ordinal);
        var bad = CanaryRunner.TempFile("bad.yaml", Minimal.Replace("istio-error-rate", "nope", StringComparison.Ordinal));
        var failed = await CanaryRunner.RunAsync("validate", bad);
        Assert.Equal(2, failed.ExitCode);
        Assert.StartsWith($"canary validate: {bad}:9 spec.analysis.config.metrics[0].template: no template \"nope\"", failed.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_local_canary_names_its_process_file_with_its_HAProxy_slots()
    {
        var (resource, problems) = CanaryResourceReader.Read(LocalExample, File.ReadAllText(LocalExample), Templates);
        Assert.Empty(problems);
        Assert.Equal(("haproxy", "checkout.process.yaml"), (resource!.Router, resource.ProcessFile));
        Assert.Equal(("/run/haproxy/admin.sock", "checkout", "primary", "canary"), (resource.Routes.RuntimeApi, resource.Routes.Backend, resource.Routes.PrimaryServer, resource.Routes.CanaryServer));
    }

    [Fact]
    public async Task Canary_validate_checks_a_local_canary_with_its_process_file()
    {
        var run = await CanaryRunner.RunAsync("validate", LocalExample);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("router haproxy, canary 10 % → 25 % → 50 %, every 30s, process revision ", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_process_file_fails_validation_of_the_Canary_that_names_it()
    {
        // A broken process file fails validation of the Canary that names it, at its line.
        var folder = Directory.CreateTempSubdirectory("canary-test-").FullName;
        File.Copy(LocalExample, Path.Combine(folder, "checkout.canary.yaml"));
        File.WriteAllText(Path.Combine(folder, "checkout.process.yaml"), "command: [x]\nreadinessProbe: {path: healthz}\n");
        var broken = await CanaryRunner.RunAsync("validate", Path.Combine(folder, "checkout.canary.yaml"));
        Assert.Equal(2, broken.ExitCode);
        Assert.Contains("checkout.process.yaml:2 readinessProbe.path: \"healthz\" must start with /", broken.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("targetRef: {kind: Process, name: checkout}\n  router: haproxy\n  service: {haproxy: {runtimeApi: /s.sock}}", "spec.targetRef.path: is required for kind Process")]
    [InlineData("targetRef: {kind: Deployment, name: checkout}\n  router: haproxy\n  service: {haproxy: {runtimeApi: /s.sock}}", "spec.router: the haproxy router drives local workloads")]
    [InlineData("targetRef: {kind: Process, name: checkout, path: p.yaml}\n  router: istio", "spec.router: local workloads (kind Process) are routed by haproxy, not istio")]
    [InlineData("targetRef: {kind: Process, name: checkout, path: p.yaml}\n  router: haproxy", "spec.service.haproxy: is required by the haproxy router")]
    [InlineData("targetRef: {kind: Process, name: checkout, path: p.yaml}\n  router: haproxy\n  service: {haproxy: {runtimeApi: localhost}}", "spec.service.haproxy.runtimeApi: \"localhost\" is neither a unix socket path nor host:port")]
    [InlineData("targetRef: {kind: Process, name: Check_Out, path: p.yaml}\n  router: haproxy\n  service: {haproxy: {runtimeApi: /s.sock}}", "spec.targetRef.name: \"Check_Out\" is not a DNS label")]
    [InlineData("targetRef: {kind: Job, name: checkout}", "spec.targetRef.kind: \"Job\" is not Deployment (Kubernetes) or Process (local workloads)")]
    public void Local_targets_with_the_wrong_router_or_fields_are_refused(string target, string problem)
    {
        var text = Minimal.Replace("targetRef: {apiVersion: apps/v1, kind: Deployment, name: checkout}", target, StringComparison.Ordinal);
        var (resource, problems) = CanaryResourceReader.Read("c.yaml", text, Templates);
        Assert.Null(resource);
        Assert.Contains(problems, p => p.Contains(problem, StringComparison.Ordinal));
    }
}
