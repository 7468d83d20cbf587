using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>The cohorts a Canary without spec.analysis.cohorts is analysed with: each router's own labels (docs/rollouts.md).</summary>
public sealed class DefaultCohortsTests
{
    [Theory]
    [InlineData(RouterNames.Istio, "destination_workload=\"checkout-primary\"", "destination_workload=\"checkout\"")]
    [InlineData(RouterNames.Nginx, "service=\"checkout\"", "service=\"checkout-canary\"")]
    [InlineData(RouterNames.Traefik, "pod=~\"checkout-primary-.*\"", "pod=~\"checkout-[a-z0-9]+-[a-z0-9]+\"")]
    [InlineData(RouterNames.Service, "pod=~\"checkout-primary-.*\"", "pod=~\"checkout-[a-z0-9]+-[a-z0-9]+\"")]
    [InlineData(RouterNames.Haproxy, "pod=~\"checkout-primary-.*\"", "pod=~\"checkout-2\\\\.0-[0-9]+\"")]
    public void Each_router_selects_the_cohorts_by_its_own_labels(string router, string control, string experiment)
    {
        using var client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:9" });
        var time = TimeProvider.System;
        var registry = new RouterRegistry([new IstioRouter(client, time), new NginxRouter(client, time), new TraefikRouter(client, time), new ServiceRouter(client, time), new HaproxyRouter(time)]);
        var controller = new RolloutController(null!, null!, registry, null!, null!, TimeProvider.System, new Support.CollectingLogger<RolloutController>());
        var resource = new CanaryResource
        {
            Namespace = "shop", Name = "checkout", Target = "checkout", Router = router, Routes = new RouterTarget("shop", "checkout"), Rollout = new RolloutSpec(),
        };

        // The revision under release narrows the local canary to its own processes (a literal in the pattern: "2.0" matches only "2.0").
        Assert.Equal(new Cohorts(control, experiment), controller.CohortsOf(resource, "2.0"));
    }

    [Fact]
    public void Cohorts_given_in_the_Canary_are_used_as_written()
    {
        var given = new Cohorts("version=\"v1\"", "version=\"v2\"");
        var controller = new RolloutController(null!, null!, new RouterRegistry([]), null!, null!, TimeProvider.System, new Support.CollectingLogger<RolloutController>());
        var resource = new CanaryResource
        {
            Namespace = "shop", Name = "checkout", Target = "checkout", Router = RouterNames.Istio, Routes = new RouterTarget("shop", "checkout"), Rollout = new RolloutSpec(), Cohorts = given,
        };
        Assert.Equal(given, controller.CohortsOf(resource, "2.0"));
    }
}
