using Canary.Analyzer.Tests.Support;
using System.Text.Json.Nodes;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Canary.Testing;
using Canary.Testing.Kubernetes;
using k8s;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>
/// Whole releases: the rollout controller against the Kubernetes emulator and the real Prometheus,
/// which scrapes exporters whose v2 is healthy (e2e-healthy, e2e-flaky, e2e-gated) or fails 5 % of
/// requests (e2e-faulty). Ticks are driven by the test, one after another.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class RolloutEndToEndTests(PrometheusFixture prometheus) : RolloutRig
{
    private readonly Support.CollectingLogger<RolloutController> log = new();


    [Fact]
    public async Task A_healthy_release_is_promoted_after_walking_every_step()
    {
        var (controller, resource) = await SetUpAsync("e2e-healthy", prometheus.Url);
        var weights = await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);

        Assert.Equal(RolloutPhase.Succeeded, (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState().Phase);
        Assert.Equal([0, 20, 50, 0], weights);
        Assert.Equal("checkout:2.0", Image("checkout-primary", resource.Namespace));
        Assert.Equal(0, Replicas("checkout", resource.Namespace));
        var decisions = await Store.AllDecisionsAsync(resource.Key);
        Assert.Contains(decisions, d => d.Verdict == "Promote" && d.Reason.Contains("promoting revision", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_healthy_releases_analyses_pass_kept_with_their_queries()
    {
        var (controller, resource) = await SetUpAsync("e2e-healthy", prometheus.Url);
        await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);

        var analyses = await Store.AllAnalysesAsync(resource.Key);
        Assert.All(analyses, a => Assert.Equal("Pass", a.Verdict));
        var query = JsonNode.Parse(analyses[0].QueriesJson)!["error rate"]!["experiment"]!.GetValue<string>();
        Assert.Contains("namespace=\"e2e-healthy\", version=\"v2\"", query, StringComparison.Ordinal);
        Assert.Contains("\"classification\": \"Pass\"", analyses[0].ResultJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_weight_edited_by_hand_is_reported()
    {
        var (controller, resource) = await EditTheWeightByHandAtTwentyAsync();
        var tick = await controller.TickAsync(resource, [], CancellationToken.None);
        Assert.Contains(log.Messages, m => m == $"Warning: rollout {resource.Key}: the router reports 70 % on the canary, the rollout is at 20 %; setting 20 %");
        Assert.Contains(log.Messages, m => m.Contains($"(analysis {tick.AnalysisId})", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_weight_edited_by_hand_is_put_back_to_the_rollouts()
    {
        var (controller, resource) = await EditTheWeightByHandAtTwentyAsync();
        var tick = await controller.TickAsync(resource, [], CancellationToken.None);
        var weight = (await new IstioRouter(Client, TimeProvider.System).GetRoutingAsync(resource.Routes, CancellationToken.None)).CanaryWeight;
        Assert.Equal(tick.Decision.State.CanaryWeight, weight);
        Assert.NotEqual(70, weight);
    }

    [Fact]
    public async Task Without_its_config_ConfigMap_an_analysis_has_no_evidence()
    {
        var (controller, resource) = await SetUpAsync("e2e-gated", prometheus.Url, threshold: 5, byReference: true);
        await ReleaseAsync(controller, resource, until: s => s.CanaryWeight == 20);
        var missing = await controller.TickAsync(resource, [], CancellationToken.None);
        Assert.Equal(AnalysisVerdict.Inconclusive, missing.Analysis!.Outcome.Verdict);
        Assert.Contains("configmap e2e-gated/checkout-metrics (spec.analysis.configRef) does not exist", missing.Decision.Reason, StringComparison.Ordinal);
        Assert.Equal(20, missing.Decision.State.CanaryWeight);
    }

    [Fact]
    public async Task A_config_kept_in_a_ConfigMap_is_used()
    {
        var (controller, resource) = await SetUpAsync("e2e-gated", prometheus.Url, threshold: 5, byReference: true);
        await ReleaseAsync(controller, resource, until: s => s.CanaryWeight == 20);

        Emulator.Write(string.Empty, "v1", "configmaps", "e2e-gated", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "checkout-metrics" },
            ["data"] = new JsonObject { [Canary.Analyzer.Serving.ConfigMapConfigs.Key] = "interval: 5s\nstep: 1s\nmetrics:\n  - {name: error rate, template: http-error-rate, critical: true, mustHaveData: true}\n" },
        });
        await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);
        Assert.Equal(RolloutPhase.Succeeded, (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState().Phase);
        Assert.Contains((await Store.AllAnalysesAsync(resource.Key)).Select(a => a.Verdict), v => v == "Pass");
    }

    [Fact]
    public async Task Five_percent_errors_in_v2_are_rolled_back_within_the_threshold()
    {
        var (controller, resource) = await SetUpAsync("e2e-faulty", prometheus.Url);
        var weights = await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);

        var state = (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState();
        Assert.Equal(RolloutPhase.Failed, state.Phase);
        Assert.Equal([0, 20, 0], weights);
        var analyses = await Store.AllAnalysesAsync(resource.Key);
        Assert.Equal(resource.Rollout.Threshold, analyses.Count);
        Assert.All(analyses, a => Assert.Equal("Fail", a.Verdict));
        var last = (await Store.AllDecisionsAsync(resource.Key))[^1];
        Assert.StartsWith("rolled back: analysis failed", last.Reason, StringComparison.Ordinal);
        Assert.Contains("error rate", last.Reason, StringComparison.Ordinal);
        Assert.Equal("checkout:1.0", Image("checkout-primary", resource.Namespace));
        Assert.Equal(0, Replicas("checkout", resource.Namespace));
    }

    [Fact]
    public async Task Prometheus_down_for_two_analyses_holds_the_weight_without_promoting()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        var (controller, resource) = await SetUpAsync("e2e-flaky", proxy.Url, threshold: 3);
        var weights = await ReleaseAsync(controller, resource, until: s => s.CanaryWeight == 20);
        Assert.Equal([0, 20], weights);

        // Prometheus is gone for the next two analyses.
        proxy.Down = true;
        for (var i = 0; i < 2; i++)
        {
            var tick = await controller.TickAsync(resource, [], CancellationToken.None);
            Assert.Equal(AnalysisVerdict.Inconclusive, tick.Analysis!.Outcome.Verdict);
            Assert.Equal((StepVerdict.Hold, 20), (tick.Decision.Verdict, tick.Decision.State.CanaryWeight));
            Assert.DoesNotContain(tick.Decision.Actions, a => a is RolloutAction.Promote);
            Assert.StartsWith("no evidence (holding at 20 %, not a failed check): the metrics source failed: cannot reach Prometheus", tick.Decision.Reason, StringComparison.Ordinal);
        }

        Assert.Equal(new Routing(20), await new IstioRouter(Client, TimeProvider.System).GetRoutingAsync(resource.Routes, CancellationToken.None));
    }

    [Fact]
    public async Task A_release_held_by_a_Prometheus_outage_goes_on_once_Prometheus_is_back()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        var (controller, resource) = await SetUpAsync("e2e-flaky", proxy.Url, threshold: 3);
        await ReleaseAsync(controller, resource, until: s => s.CanaryWeight == 20);
        proxy.Down = true;
        for (var i = 0; i < 2; i++)
        {
            await controller.TickAsync(resource, [], CancellationToken.None);
        }

        proxy.Down = false;
        await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);
        Assert.Equal(RolloutPhase.Succeeded, (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState().Phase);
    }

    [Fact]
    public async Task The_confirm_promotion_gate_holds_the_release_until_it_opens()
    {
        await using var gate = await GateServer.StartAsync();
        var (controller, resource) = await SetUpAsync("e2e-gated", prometheus.Url, gate: new Uri(gate.Url, "promote"));
        await ReleaseAsync(controller, resource, until: s => s.Phase == RolloutPhase.WaitingPromotion);
        for (var i = 0; i < 3; i++)
        {
            var tick = await controller.TickAsync(resource, [], CancellationToken.None);
            Assert.Equal(RolloutPhase.WaitingPromotion, tick.Decision.State.Phase);
            Assert.DoesNotContain(tick.Decision.Actions, a => a is RolloutAction.Promote);
        }

        Assert.Equal("checkout:1.0", Image("checkout-primary", resource.Namespace));
        Assert.True(gate.Calls("/promote") >= 3);
        gate.Open = true;
        await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);
        Assert.Equal(RolloutPhase.Succeeded, (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState().Phase);
        Assert.Equal("checkout:2.0", Image("checkout-primary", resource.Namespace));
    }

    [Fact]
    public async Task A_release_calls_each_webhook_exactly_when_its_type_says()
    {
        await using var hooks = await GateServer.StartAsync();
        var (controller, resource) = await SetUpAsync("e2e-healthy", prometheus.Url, webhooks: $$"""
                webhooks:
                  - {name: before, type: pre-rollout, url: "{{new Uri(hooks.Url, "always/pre")}}"}
                  - {name: load, type: rollout, url: "{{new Uri(hooks.Url, "always/load")}}"}
                  - {name: after, type: post-rollout, url: "{{new Uri(hooks.Url, "always/post")}}"}
                  - {name: undo, type: rollback, url: "{{new Uri(hooks.Url, "always/undo")}}"}
            """);
        await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);

        var analyses = await Store.AllAnalysesAsync(resource.Key);
        Assert.Equal(RolloutPhase.Succeeded, (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState().Phase);
        // One load-test call before each analysis, none on other ticks: exactly as many as analyses were stored.
        Assert.Equal(["/always/pre", .. Enumerable.Repeat("/always/load", analyses.Count), "/always/post"], hooks.Log);
    }

    /// <summary>A release of e2e-healthy at 20 % whose virtual service someone then set to 70 % on the canary by hand.</summary>
    private async Task<(RolloutController Controller, CanaryResource Resource)> EditTheWeightByHandAtTwentyAsync()
    {
        var (controller, resource) = await SetUpAsync("e2e-healthy", prometheus.Url, threshold: 3);
        await ReleaseAsync(controller, resource, until: s => s.CanaryWeight == 20);
        var service = Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", resource.Namespace, "checkout")!;
        service["spec"]!["http"]![0]!["route"]![0]!["weight"] = 30;
        service["spec"]!["http"]![0]!["route"]![1]!["weight"] = 70;
        Emulator.Write("networking.istio.io", "v1beta1", "virtualservices", resource.Namespace, service);
        return (controller, resource);
    }

    /// <summary>A target on checkout:1.0, initialized by a first tick, then checkout:2.0 deployed: the release to run.</summary>
    private async Task<(RolloutController Controller, CanaryResource Resource)> SetUpAsync(string ns, Uri prometheusUrl, int threshold = 2, Uri? gate = null, bool byReference = false, string? webhooks = null)
    {
        await prometheus.WaitForScrapesAsync(ns);
        var hooks = webhooks ?? (gate is null ? string.Empty : $$"""
                webhooks:
                  - {name: release-manager, type: confirm-promotion, url: "{{gate}}", timeout: 5s}
            """);
        var (resource, problems) = CanaryResourceReader.Read($"{ns}.yaml", $$$"""
            apiVersion: canary.dev/v1alpha1
            kind: Canary
            metadata: {name: checkout, namespace: {{{ns}}}}
            spec:
              targetRef: {kind: Deployment, name: checkout}
              router: istio
              analysis:
                interval: 1s
                window: 15s
                threshold: {{{threshold}}}
                minSamples: 5
                stepWeights: [20, 50]
                cohorts: {control: 'version="v1"', experiment: 'version="v2"'}
            {{{hooks}}}
                config:
                  interval: 5s
                  step: 1s
                  metrics:
                    - {name: error rate, template: http-error-rate, critical: true, mustHaveData: true, effectSize: {allowedIncrease: 1.2, criticalIncrease: 1.5}}
                    - {name: mean latency, template: http-latency-mean, effectSize: {allowedIncrease: 1.5}}
            """ is var text && byReference ? text[..text.IndexOf("    config:", StringComparison.Ordinal)] + "    configRef: checkout-metrics\n" : text, TemplateLibrary.Default());
        Assert.Empty(problems);
        Emulator.Write("apps", "v1", "deployments", ns, Deployment("checkout:1.0"));
        var controller = Controller(prometheusUrl, log);
        var first = await controller.TickAsync(resource!, [], CancellationToken.None);
        Assert.Equal(RolloutPhase.Initialized, first.Decision.State.Phase);
        Assert.Empty(first.ActionErrors);
        Emulator.Write("apps", "v1", "deployments", ns, Deployment("checkout:2.0", replicas: 0));
        return (controller, resource!);
    }

    /// <summary>Ticks until the state satisfies until (at most 200 ticks, 30 ms apart); returns the distinct weights the router held.</summary>
    private Task<List<int>> ReleaseAsync(RolloutController controller, CanaryResource resource, Func<RolloutState, bool> until) =>
        TickUntilAsync(controller, resource, until, 200, _ => TimeSpan.FromMilliseconds(30));

    private string Image(string name, string ns) => Emulator.Read("apps", "v1", "deployments", ns, name)!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    private int Replicas(string name, string ns) => (int)Emulator.Read("apps", "v1", "deployments", ns, name)!["spec"]!["replicas"]!;

    private static JsonObject Deployment(string image, int replicas = 2) => JsonNode.Parse("""
        {"metadata": {"name": "checkout", "labels": {"app": "checkout"}},
         "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "checkout"}},
                  "template": {"metadata": {"labels": {"app": "checkout"}},
                               "spec": {"containers": [{"name": "app", "image": "IMAGE", "ports": [{"containerPort": 8080}]}]}}}}
        """.Replace("REPLICAS", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("IMAGE", image, StringComparison.Ordinal))!.AsObject();
}
