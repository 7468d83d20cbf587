using System.Text.Json.Nodes;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;

namespace Canary.Analyzer.Tests.Rollouts;

/// <summary>
/// Whole releases judged on sequential evidence: the rollout controller against the Kubernetes
/// emulator and the real Prometheus, which scrapes exporters of 50 requests/s per version with 1 %
/// errors on v1 and, on v2, 1 % (seq-healthy, seq-outage), 10 % (seq-faulty) or no traffic
/// (seq-idle); seq-early serves 200 requests/s with 10 % errors on both. The test drives the ticks,
/// 2.5 s apart (6 s for the faulty release), so each interval holds a few scrapes.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class SequentialRolloutTests(PrometheusFixture prometheus) : RolloutRig
{
    private static readonly TimeSpan Apart = TimeSpan.FromMilliseconds(2500);

    [Fact]
    public async Task A_healthy_release_is_promoted()
    {
        var (controller, resource) = await SetUpAsync("seq-healthy", prometheus.Url);
        var weights = await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);
        Assert.Equal(RolloutPhase.Succeeded, await PhaseAsync(resource));
        Assert.Equal([0, 20, 50, 0], weights);
    }

    [Fact]
    public async Task Ten_times_the_errors_roll_back_at_the_first_step_on_the_tick_the_evidence_crosses()
    {
        var (controller, resource) = await SetUpAsync("seq-faulty", prometheus.Url);
        // Ticks 6 s apart: 300 requests per version per interval, about 3 errors against 30.
        var weights = await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed, apart: TimeSpan.FromSeconds(6));
        Assert.Equal([0, 20, 0], weights);
        var analyses = await Store.AllAnalysesAsync(resource.Key);
        var last = JsonNode.Parse(analyses[^1].ResultJson)!["metrics"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == "errors")!;
        // The release rolled back on the tick whose interval crossed: the last interval of the stored evidence.
        var evidence = (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState().Evidence!["errors"].Counts!;
        Assert.Equal(evidence.Intervals - 1, evidence.CrossedAt);
        Assert.Equal(evidence.CrossedAt, last["sequential"]!["crossedAt"]!.GetValue<int>());
        Assert.Equal("High", last["classification"]!.GetValue<string>());
        var rollback = (await Store.AllDecisionsAsync(resource.Key))[^1];
        // The reason says how much worse, how sure, and how long it took: "errors 9.7× the baseline (at least 2.3×), evidence 412 ≥ 100 after 6 s".
        Assert.Matches(@"^rolled back: the evidence crossed: errors [0-9.]+× the baseline \(at least [0-9.]+×\), evidence [0-9.E+]+ ≥ 100 after [0-9.]+ (s|min)$", rollback.Reason);
    }

    [Fact]
    public async Task A_release_without_traffic_holds_then_rolls_back_after_max_no_evidence()
    {
        await prometheus.WaitForScrapesAsync("seq-idle", version: "v1");
        var (controller, resource) = await SetUpAsync("seq-idle", prometheus.Url, extra: "    maxNoEvidence: 6s\n");
        await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);
        var decisions = await Store.AllDecisionsAsync(resource.Key);
        var held = decisions.Where(d => d.Reason.StartsWith("no evidence (holding at 20 %, not a failed check)", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(held);
        Assert.All(held, d => Assert.Equal(20, d.CanaryWeight));
        Assert.StartsWith("rolled back: no evidence for ", decisions[^1].Reason, StringComparison.Ordinal);
        Assert.Contains("in a row (analysis.maxNoEvidence 6s): no requests in a cohort since", decisions[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Prometheus_outage_holds_the_release_without_rolling_it_back()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        // One failed check would roll back: the outage must not count as one.
        var (controller, resource) = await SetUpAsync("seq-outage", proxy.Url, threshold: 1);
        await ReleaseAsync(controller, resource, until: s => s.CanaryWeight == 20);
        proxy.Down = true;
        for (var i = 0; i < 2; i++)
        {
            await Task.Delay(Apart);
            var tick = await controller.TickAsync(resource, [], CancellationToken.None);
            Assert.Equal((StepVerdict.Hold, 20, 0), (tick.Decision.Verdict, tick.Decision.State.CanaryWeight, tick.Decision.State.FailedChecks));
            Assert.True(tick.Decision.WithoutEvidence);
        }

        proxy.Down = false;
        await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);
        Assert.Equal(RolloutPhase.Succeeded, await PhaseAsync(resource));
    }

    [Fact]
    public async Task A_partial_answer_from_Prometheus_is_no_evidence_and_its_interval_is_counted_again()
    {
        await using var proxy = await FaultProxy.StartAsync(prometheus.Url);
        var (controller, resource) = await SetUpAsync("seq-outage", proxy.Url, steps: "[20, 40, 60]", metrics: "[{name: latency, template: http-latency}]");
        // At 40 % one analysis has fed the evidence.
        await ReleaseAsync(controller, resource, until: s => s.CanaryWeight == 40 && s.Evidence is not null);
        var before = (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState();
        const string partial = """{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["partial response: store 2 down"]}""";
        proxy.Inject(new Fault.Status(200, partial), new Fault.Status(200, partial));
        await Task.Delay(Apart);
        var tick = await controller.TickAsync(resource, [], CancellationToken.None);
        Assert.True(tick.Decision.WithoutEvidence);
        Assert.Contains("Prometheus answered the sequential queries partially, so their counts are not kept: partial response: store 2 down", tick.Decision.Reason, StringComparison.Ordinal);
        // The evidence and where it ends are as they were: the next tick counts this interval again.
        Assert.Equal(before.CountedUntil, tick.Decision.State.CountedUntil);
        Assert.Equal(before.Evidence!["latency"].Histogram!.Intervals, tick.Decision.State.Evidence!["latency"].Histogram!.Intervals);
    }

    [Fact]
    public async Task Early_promotion_promotes_before_the_last_step_once_every_upper_bound_is_below_its_limit()
    {
        var (controller, resource) = await SetUpAsync("seq-early", prometheus.Url, extra: "    promoteEarly: {below: 1.5}\n",
            steps: "[5, 10, 15, 20, 25, 30, 35, 40, 45, 50]", metrics: "[{name: errors, template: http-errors, mustHaveData: true}]");
        var weights = await ReleaseAsync(controller, resource, until: s => s.Phase is RolloutPhase.Succeeded or RolloutPhase.Failed);
        Assert.Equal(RolloutPhase.Succeeded, await PhaseAsync(resource));
        Assert.True(weights.Max() < 50, $"weights {string.Join(", ", weights)}");
        var promoted = (await Store.AllDecisionsAsync(resource.Key)).Single(d => d.Phase == "Promoting" && d.Verdict == "Promote" && d.Reason.Contains("analysis.promoteEarly", StringComparison.Ordinal));
        Assert.Contains("every sequential metric's upper bound is below ×1.5", promoted.Reason, StringComparison.Ordinal);
    }

    private async Task<RolloutPhase> PhaseAsync(CanaryResource resource) => (await Store.GetRolloutAsync(resource.Key, CancellationToken.None))!.ReadState().Phase;

    /// <summary>A target on checkout:1.0, initialized by a first tick, then checkout:2.0 deployed: the release to run, on sequential errors and latency.</summary>
    private async Task<(RolloutController Controller, CanaryResource Resource)> SetUpAsync(
        string ns, Uri prometheusUrl, int threshold = 2, string extra = "", string steps = "[20, 50]",
        string metrics = "[{name: errors, template: http-errors, critical: true, mustHaveData: true}, {name: latency, template: http-latency}]")
    {
        if (ns != "seq-idle")
        {
            await prometheus.WaitForScrapesAsync(ns);
        }

        var (resource, problems) = CanaryResourceReader.Read($"{ns}.yaml", $$"""
            apiVersion: canary.dev/v1alpha1
            kind: Canary
            metadata: {name: checkout, namespace: {{ns}}}
            spec:
              targetRef: {kind: Deployment, name: checkout}
              router: istio
              analysis:
                interval: 1s
                threshold: {{threshold}}
                stepWeights: {{steps}}
                cohorts: {control: 'version="v1"', experiment: 'version="v2"'}
            {{extra}}    config:
                  judge: {confidenceLevel: 0.99}
                  metrics: {{metrics}}
            """, TemplateLibrary.Default());
        Assert.Empty(problems);
        Emulator.Write("apps", "v1", "deployments", ns, Deployment("checkout:1.0"));
        var controller = Controller(prometheusUrl, new Support.CollectingLogger<RolloutController>());
        var first = await controller.TickAsync(resource!, [], CancellationToken.None);
        Assert.Equal(RolloutPhase.Initialized, first.Decision.State.Phase);
        Emulator.Write("apps", "v1", "deployments", ns, Deployment("checkout:2.0", replicas: 0));
        return (controller, resource!);
    }

    /// <summary>Ticks 2.5 s (or apart) apart while a release is under analysis, until the state satisfies until (at most 40 ticks); returns the distinct weights the router held.</summary>
    private Task<List<int>> ReleaseAsync(RolloutController controller, CanaryResource resource, Func<RolloutState, bool> until, TimeSpan? apart = null) =>
        // Analyses count the requests between ticks: far enough apart for Prometheus, scraping every second, to have seen them.
        TickUntilAsync(controller, resource, until, 40, state => state.Phase is RolloutPhase.Progressing or RolloutPhase.WaitingPromotion ? apart ?? Apart : TimeSpan.FromMilliseconds(30));

    private static JsonObject Deployment(string image, int replicas = 2) => ServeProcesses.Deployment(image, replicas);
}
