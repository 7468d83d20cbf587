using System.Text.Json.Nodes;
using Canary.Analyzer.Kubernetes;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Canary.Testing.Kubernetes;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>The Istio router: a VirtualService (its own, or the user's adopted) and a DestinationRule per host.</summary>
public sealed class IstioRouterTests : RouterTestBase
{
    private IstioRouter Router => new(Client, TimeProvider.System);

    [Fact]
    public async Task Reconciling_creates_a_virtual_service_sending_everything_to_the_primary()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        var service = await KubectlGetAsync("virtualservices.networking.istio.io", "checkout");
        Assert.Equal("VirtualService", service["kind"]!.GetValue<string>());
        Assert.Equal("canary", service["metadata"]!["labels"]![KubernetesWorkloads.ManagedByLabel]!.GetValue<string>());
        Assert.Equal(["checkout"], service["spec"]!["hosts"]!.AsArray().Select(h => h!.GetValue<string>()));
        var route = Assert.Single(service["spec"]!["http"]!.AsArray())!;
        Assert.Equal("canary", route["name"]!.GetValue<string>());
        Assert.Equal("""[{"destination":{"host":"checkout-primary"},"weight":100},{"destination":{"host":"checkout-canary"},"weight":0}]""", route["route"]!.ToJsonString());
        Assert.Equal(Routing.AllPrimary, await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task Reconciling_creates_a_destination_rule_per_host()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        foreach (var host in new[] { "checkout-primary", "checkout-canary" })
        {
            Assert.Equal(host, (await KubectlGetAsync("destinationrules.networking.istio.io", host))["spec"]!["host"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Weights_move_step_by_step()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await WalkWeightsAsync(Router);
    }

    [Fact]
    public async Task Setting_the_same_weight_twice_or_reconciling_again_writes_nothing()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await Router.SetRoutingAsync(Target, new Routing(25), CancellationToken.None);
        var version = Version(Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", "shop", "checkout")!);
        await Router.SetRoutingAsync(Target, new Routing(25), CancellationToken.None);
        await Router.ReconcileAsync(Target, CancellationToken.None);
        Assert.Equal(version, Version(Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", "shop", "checkout")!));
        Assert.Equal(new Routing(25), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task Weights_read_back_are_what_is_in_the_cluster_even_after_an_edit_by_hand()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        var service = Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", "shop", "checkout")!;
        service["spec"]!["http"]![0]!["route"]![0]!["weight"] = 70;
        service["spec"]!["http"]![0]!["route"]![1]!["weight"] = 30;
        Emulator.Write("networking.istio.io", "v1beta1", "virtualservices", "shop", service);
        Assert.Equal(new Routing(30), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Theory]
    [InlineData("x-canary", "insider", null, false, 0)]
    [InlineData("x-canary", null, null, false, 20)]
    [InlineData(null, null, "canary", false, 10)]
    [InlineData(null, null, null, true, 0)]
    public async Task AB_matches_or_mirroring_read_back_as_written(string? header, string? value, string? cookie, bool mirror, int weight)
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        var routing = new Routing(weight, header is null && cookie is null ? null : new RouteMatch(header, value, cookie), mirror);
        await Router.SetRoutingAsync(Target, routing, CancellationToken.None);
        Assert.Equal(routing, await Router.GetRoutingAsync(Target, CancellationToken.None));
        var http = (await KubectlGetAsync("virtualservices.networking.istio.io", "checkout"))["spec"]!["http"]!.AsArray();
        if (routing.Match is not null)
        {
            Assert.Equal("canary-match", http[0]!["name"]!.GetValue<string>());
            Assert.Equal("checkout-canary", http[0]!["route"]![0]!["destination"]!["host"]!.GetValue<string>());
        }

        Assert.Equal(mirror, http[^1]!["mirror"] is not null);
        if (cookie is not null)
        {
            // The condition Envoy evaluates: the cookie anywhere in the header, after "; " as browsers write it.
            var regex = new System.Text.RegularExpressions.Regex(http[0]!["match"]![0]!["headers"]!["cookie"]!["regex"]!.GetValue<string>());
            Assert.Matches(regex, "canary=1");
            Assert.Matches(regex, "session=abc; canary=1; theme=dark");
            Assert.DoesNotMatch(regex, "session=abc; notcanary=1");
        }
    }

    [Fact]
    public async Task The_users_other_routes_are_kept()
    {
        await AdoptUsersVirtualServiceAsync();

        var http = Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", "shop", "checkout")!["spec"]!["http"]!.AsArray();
        // Canary's route takes the place of the route to the app, with its settings; the others keep theirs.
        Assert.Equal(["admin", "canary", "fallback"], http.Select(r => r!["name"]!.GetValue<string>()));
        Assert.Equal("3s", http[1]!["timeout"]!.GetValue<string>());
        Assert.Equal(2, (int)http[1]!["retries"]!["attempts"]!);
        Assert.Equal(new Routing(40), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task Finalizing_restores_the_virtual_service_it_found()
    {
        var original = await AdoptUsersVirtualServiceAsync();

        await Router.FinalizeAsync(Target, CancellationToken.None);
        var restored = Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", "shop", "checkout")!;
        Assert.True(JsonNode.DeepEquals(original["spec"], restored["spec"]), restored["spec"]!.ToJsonString());
        Assert.Null(restored["metadata"]!["annotations"]?["canary.dev/original-spec"]);
        Assert.Null(Emulator.Read("networking.istio.io", "v1beta1", "destinationrules", "shop", "checkout-canary"));
    }

    [Fact]
    public async Task Finalizing_deletes_what_canary_created()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await Router.FinalizeAsync(Target, CancellationToken.None);
        Assert.Null(Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", "shop", "checkout"));
        Assert.Null(Emulator.Read("networking.istio.io", "v1beta1", "destinationrules", "shop", "checkout-primary"));
    }

    [Fact]
    public async Task A_storm_of_conflicts_is_retried_then_given_up_on()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        Emulator.Inject("PUT", "/virtualservices/checkout", new ApiFault.Status(409), new ApiFault.Status(409));
        await Router.SetRoutingAsync(Target, new Routing(10), CancellationToken.None);
        Assert.Equal(new Routing(10), await Router.GetRoutingAsync(Target, CancellationToken.None));

        Emulator.Inject("PUT", "/virtualservices/checkout", [.. Enumerable.Repeat<ApiFault>(new ApiFault.Status(409), KubernetesWrites.MaxAttempts)]);
        var e = await Assert.ThrowsAsync<KubernetesWriteException>(() => Router.SetRoutingAsync(Target, new Routing(20), CancellationToken.None));
        Assert.StartsWith("gave up writing virtualservices.networking.istio.io shop/checkout: 5 attempts in a row met a newer version (409 Conflict)", e.Message, StringComparison.Ordinal);
        Assert.Equal(new Routing(10), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task A_server_error_while_reconciling_leaves_no_route_to_a_missing_destination()
    {
        Emulator.Inject("POST", "/virtualservices", new ApiFault.Status(500));
        var e = await Assert.ThrowsAsync<KubernetesWriteException>(() => Router.ReconcileAsync(Target, CancellationToken.None));
        Assert.StartsWith("create virtualservices.networking.istio.io shop/checkout: the Kubernetes API answered 500", e.Message, StringComparison.Ordinal);
        Assert.Null(Emulator.Read("networking.istio.io", "v1beta1", "virtualservices", "shop", "checkout"));
        Assert.NotNull(Emulator.Read("networking.istio.io", "v1beta1", "destinationrules", "shop", "checkout-canary"));
        await Assert.ThrowsAsync<RoutingException>(() => Router.GetRoutingAsync(Target, CancellationToken.None));

        await Router.ReconcileAsync(Target, CancellationToken.None);
        Assert.Equal(Routing.AllPrimary, await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    /// <summary>Writes the user's own virtual service (three routes), reconciles and sets the weight to 40. Returns the user's original.</summary>
    private async Task<JsonObject> AdoptUsersVirtualServiceAsync()
    {
        var original = Node("""
            {"metadata": {"name": "checkout"},
             "spec": {"hosts": ["checkout.example.com"], "gateways": ["public"],
                      "http": [{"name": "admin", "match": [{"uri": {"prefix": "/admin"}}], "route": [{"destination": {"host": "admin"}}]},
                               {"name": "default", "timeout": "3s", "retries": {"attempts": 2}, "route": [{"destination": {"host": "checkout"}}]},
                               {"name": "fallback", "route": [{"destination": {"host": "maintenance"}}]}]}}
            """);
        Emulator.Write("networking.istio.io", "v1beta1", "virtualservices", "shop", original.DeepClone().AsObject());
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await Router.SetRoutingAsync(Target, new Routing(40), CancellationToken.None);
        return original;
    }
}
