using Canary.Analyzer.Kubernetes;
using System.Text.Json;
using System.Text.Json.Nodes;
using Canary.Analyzer.Traffic;
using Canary.Analyzer.Workloads;
using Canary.Testing;
using Canary.Testing.Kubernetes;
using k8s;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>An emulator with the CRDs of Istio and Traefik installed, a client, and kubectl, for each router test.</summary>
public abstract class RouterTestBase : IAsyncLifetime, IDisposable
{
    internal static readonly RouterTarget Target = new("shop", "checkout") { Port = 8080 };

    protected KubernetesEmulator Emulator { get; private set; } = null!;

    protected k8s.Kubernetes Client { get; private set; } = null!;

    protected string Folder { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Emulator = await KubernetesEmulator.StartAsync();
        Client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Emulator.Url.AbsoluteUri });
        Folder = Directory.CreateTempSubdirectory("canary-router-").FullName;
        Crd("networking.istio.io", "v1beta1", "VirtualService", "virtualservices", "vs");
        Crd("networking.istio.io", "v1beta1", "DestinationRule", "destinationrules", "dr");
        Crd("traefik.io", "v1alpha1", "TraefikService", "traefikservices", "ts");
    }

    public async Task DisposeAsync()
    {
        await Emulator.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    public void Dispose()
    {
        Client.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static JsonObject Node(string json) => JsonNode.Parse(json)!.AsObject();

    protected static string Version(JsonObject o) => o["metadata"]!["resourceVersion"]!.GetValue<string>();

    /// <summary>kubectl get -o json of one object, as a user would look at it.</summary>
    protected async Task<JsonObject> KubectlGetAsync(string resource, string name)
    {
        var kubeconfig = Emulator.WriteKubeconfig(Folder);
        var json = await ExternalProcess.RunAsync("kubectl", ["--kubeconfig", kubeconfig, "get", resource, name, "-n", "shop", "-o", "json"], Folder, TimeSpan.FromSeconds(60));
        return Node(json);
    }

    /// <summary>
    /// Moves the weight 0→10→…→100 (promotion) and back to 0 (rollback), reading each one back from
    /// the cluster; setting a weight again writes nothing.
    /// </summary>
    internal async Task WalkWeightsAsync(ITrafficRouter router)
    {
        foreach (var weight in new[] { 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 0 })
        {
            await router.SetRoutingAsync(Target, new Routing(weight), CancellationToken.None);
            Assert.Equal(new Routing(weight), await router.GetRoutingAsync(Target, CancellationToken.None));
            var requests = Emulator.Requests;
            var writes = WritesSoFar();
            await router.SetRoutingAsync(Target, new Routing(weight), CancellationToken.None);
            Assert.True(Emulator.Requests > requests);
            Assert.Equal(writes, WritesSoFar());
        }
    }

    /// <summary>The cluster's resourceVersion: it moves with every write.</summary>
    private long WritesSoFar() =>
        long.Parse(Client.CoreV1.ListNamespacedConfigMap("shop").Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture);

    private void Crd(string group, string version, string kind, string plural, string shortName) =>
        Emulator.Write("apiextensions.k8s.io", "v1", "customresourcedefinitions", null, Node($$$"""
            {"metadata": {"name": "{{{plural}}}.{{{group}}}"},
             "spec": {"group": "{{{group}}}", "scope": "Namespaced",
                      "names": {"kind": "{{{kind}}}", "plural": "{{{plural}}}", "singular": "{{{kind.ToLowerInvariant()}}}", "shortNames": ["{{{shortName}}}"]},
                      "versions": [{"name": "{{{version}}}", "served": true, "storage": true}]}}
            """));
}

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

public sealed class NginxRouterTests : RouterTestBase
{
    private NginxRouter Router => new(Client, TimeProvider.System);

    [Fact]
    public async Task The_canary_ingress_is_a_clone_of_the_users_pointed_at_the_canary()
    {
        UserIngress();
        await Router.ReconcileAsync(Target, CancellationToken.None);

        var canary = await KubectlGetAsync("ingress", "checkout-canary");
        var annotations = canary["metadata"]!["annotations"]!;
        Assert.Equal("true", annotations["nginx.ingress.kubernetes.io/canary"]!.GetValue<string>());
        Assert.Equal("0", annotations["nginx.ingress.kubernetes.io/canary-weight"]!.GetValue<string>());
        Assert.Equal("nginx", canary["spec"]!["ingressClassName"]!.GetValue<string>());
        var rule = canary["spec"]!["rules"]![0]!;
        Assert.Equal("shop.example.com", rule["host"]!.GetValue<string>());
        Assert.Equal("checkout-canary", rule["http"]!["paths"]![0]!["backend"]!["service"]!["name"]!.GetValue<string>());
        Assert.Equal("static", rule["http"]!["paths"]![1]!["backend"]!["service"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Weights_move_step_by_step_on_the_canary_ingress()
    {
        UserIngress();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await WalkWeightsAsync(Router);
    }

    [Fact]
    public async Task Header_or_cookie_matches_read_back_as_written()
    {
        UserIngress();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await Router.SetRoutingAsync(Target, new Routing(0, new RouteMatch("x-canary", "insider")), CancellationToken.None);
        Assert.Equal(new Routing(0, new RouteMatch("x-canary", "insider")), await Router.GetRoutingAsync(Target, CancellationToken.None));
        await Router.SetRoutingAsync(Target, new Routing(0, new RouteMatch("x-canary")), CancellationToken.None);
        Assert.Equal(new Routing(0, new RouteMatch("x-canary")), await Router.GetRoutingAsync(Target, CancellationToken.None));
        var anyValue = Emulator.Read("networking.k8s.io", "v1", "ingresses", "shop", "checkout-canary")!["metadata"]!["annotations"]!;
        Assert.Equal(".*", anyValue["nginx.ingress.kubernetes.io/canary-by-header-pattern"]!.GetValue<string>());
        Assert.Null(anyValue["nginx.ingress.kubernetes.io/canary-by-header-value"]);
        await Router.SetRoutingAsync(Target, new Routing(0, new RouteMatch(Cookie: "canary")), CancellationToken.None);
        Assert.Equal(new Routing(0, new RouteMatch(Cookie: "canary")), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task The_users_ingress_is_never_touched()
    {
        UserIngress();
        var before = Version(Emulator.Read("networking.k8s.io", "v1", "ingresses", "shop", "checkout")!);
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await WalkWeightsAsync(Router);
        await Router.SetRoutingAsync(Target, new Routing(0, new RouteMatch("x-canary", "insider")), CancellationToken.None);
        await Router.SetRoutingAsync(Target, new Routing(0, new RouteMatch(Cookie: "canary")), CancellationToken.None);
        Assert.Equal(before, Version(Emulator.Read("networking.k8s.io", "v1", "ingresses", "shop", "checkout")!));

        await Router.FinalizeAsync(Target, CancellationToken.None);
        Assert.Equal(before, Version(Emulator.Read("networking.k8s.io", "v1", "ingresses", "shop", "checkout")!));
    }

    [Fact]
    public async Task Finalizing_deletes_the_canary_ingress()
    {
        UserIngress();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await Router.FinalizeAsync(Target, CancellationToken.None);
        Assert.Null(Emulator.Read("networking.k8s.io", "v1", "ingresses", "shop", "checkout-canary"));
    }

    [Fact]
    public async Task A_missing_user_ingress_is_a_clear_error()
    {
        var missing = await Assert.ThrowsAsync<RoutingException>(() => Router.ReconcileAsync(Target, CancellationToken.None));
        Assert.Equal("the nginx router needs the Ingress shop/checkout that serves checkout; it does not exist", missing.Message);
    }

    [Fact]
    public async Task Mirroring_is_a_clear_error_for_the_nginx_router()
    {
        UserIngress();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        var mirror = await Assert.ThrowsAsync<RoutingException>(() => Router.SetRoutingAsync(Target, new Routing(0, Mirror: true), CancellationToken.None));
        Assert.StartsWith("the nginx router cannot mirror traffic", mirror.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ingress_that_does_not_lead_to_the_app_is_refused()
    {
        Emulator.Write("networking.k8s.io", "v1", "ingresses", "shop", Node("""
            {"metadata": {"name": "checkout"}, "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "legacy", "port": {"number": 80}}}}]}}]}}
            """));
        var e = await Assert.ThrowsAsync<RoutingException>(() => Router.ReconcileAsync(Target, CancellationToken.None));
        Assert.Equal("ingress shop/checkout has no backend for the service checkout (or checkout-primary); a canary ingress cloned from it would not reach the canary", e.Message);
        Assert.Null(Emulator.Read("networking.k8s.io", "v1", "ingresses", "shop", "checkout-canary"));
    }

    [Fact]
    public async Task A_weight_edited_by_hand_is_what_is_read_back()
    {
        UserIngress();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        var canary = Emulator.Read("networking.k8s.io", "v1", "ingresses", "shop", "checkout-canary")!;
        canary["metadata"]!["annotations"]!["nginx.ingress.kubernetes.io/canary-weight"] = "35";
        Emulator.Write("networking.k8s.io", "v1", "ingresses", "shop", canary);
        Assert.Equal(new Routing(35), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    private void UserIngress() => Emulator.Write("networking.k8s.io", "v1", "ingresses", "shop", Node("""
        {"metadata": {"name": "checkout", "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}},
         "spec": {"ingressClassName": "nginx",
                  "rules": [{"host": "shop.example.com", "http": {"paths": [
                     {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "checkout", "port": {"number": 8080}}}},
                     {"path": "/static", "pathType": "Prefix", "backend": {"service": {"name": "static", "port": {"number": 80}}}}]}}]}}
        """));
}

public sealed class TraefikRouterTests : RouterTestBase
{
    private TraefikRouter Router => new(Client, TimeProvider.System);

    [Fact]
    public async Task A_weighted_traefik_service_carries_the_split()
    {
        await Router.ReconcileAsync(Target, CancellationToken.None);
        var service = await KubectlGetAsync("traefikservices.traefik.io", "checkout");
        Assert.Equal("""{"weighted":{"services":[{"name":"checkout-primary","port":8080,"weight":100},{"name":"checkout-canary","port":8080,"weight":0}]}}""", service["spec"]!.ToJsonString());
        await WalkWeightsAsync(Router);
        var ab = await Assert.ThrowsAsync<RoutingException>(() => Router.SetRoutingAsync(Target, new Routing(0, new RouteMatch("x-canary")), CancellationToken.None));
        Assert.StartsWith("the traefik router splits traffic by weight only", ab.Message, StringComparison.Ordinal);
        await Router.FinalizeAsync(Target, CancellationToken.None);
        Assert.Null(Emulator.Read("traefik.io", "v1alpha1", "traefikservices", "shop", "checkout"));
    }

    [Fact]
    public async Task An_existing_traefik_service_is_adopted()
    {
        await AdoptUsersTraefikServiceAsync();
        await Router.SetRoutingAsync(Target, new Routing(50), CancellationToken.None);
        Assert.Equal(new Routing(50), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task Finalizing_gives_an_adopted_traefik_service_back()
    {
        var original = await AdoptUsersTraefikServiceAsync();
        await Router.SetRoutingAsync(Target, new Routing(50), CancellationToken.None);
        await Router.FinalizeAsync(Target, CancellationToken.None);
        Assert.True(JsonNode.DeepEquals(original["spec"], Emulator.Read("traefik.io", "v1alpha1", "traefikservices", "shop", "checkout")!["spec"]));
    }

    /// <summary>Writes the user's own traefik service (all to checkout) and reconciles. Returns the user's original.</summary>
    private async Task<JsonObject> AdoptUsersTraefikServiceAsync()
    {
        var original = Node("""{"metadata": {"name": "checkout"}, "spec": {"weighted": {"services": [{"name": "checkout", "port": 8080, "weight": 1}]}}}""");
        Emulator.Write("traefik.io", "v1alpha1", "traefikservices", "shop", original.DeepClone().AsObject());
        await Router.ReconcileAsync(Target, CancellationToken.None);
        return original;
    }
}

public sealed class ServiceRouterTests : RouterTestBase
{
    private ServiceRouter Router => new(Client, TimeProvider.System);

    [Fact]
    public async Task The_apex_service_switches_from_primary_to_canary_in_one_write()
    {
        WriteServices();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        Assert.Equal(Routing.AllPrimary, await Router.GetRoutingAsync(Target, CancellationToken.None));
        var before = Version(Emulator.Read(string.Empty, "v1", "services", "shop", "checkout")!);
        await Router.SetRoutingAsync(Target, new Routing(100), CancellationToken.None);
        var after = Emulator.Read(string.Empty, "v1", "services", "shop", "checkout")!;
        Assert.Equal(long.Parse(before, System.Globalization.CultureInfo.InvariantCulture) + 1, long.Parse(Version(after), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("checkout", (await KubectlGetAsync("service", "checkout"))["spec"]!["selector"]!["app"]!.GetValue<string>());
        Assert.Equal(new Routing(100), await Router.GetRoutingAsync(Target, CancellationToken.None));
    }

    [Fact]
    public async Task The_service_router_refuses_any_weight_but_0_or_100()
    {
        WriteServices();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        var half = await Assert.ThrowsAsync<RoutingException>(() => Router.SetRoutingAsync(Target, new Routing(50), CancellationToken.None));
        Assert.Equal("the service router switches all traffic at once: the canary weight is 0 or 100, not 50", half.Message);
    }

    [Fact]
    public async Task Finalizing_points_the_apex_service_back_at_the_primary()
    {
        WriteServices();
        await Router.ReconcileAsync(Target, CancellationToken.None);
        await Router.SetRoutingAsync(Target, new Routing(100), CancellationToken.None);
        await Router.FinalizeAsync(Target, CancellationToken.None);
        Assert.Equal("checkout-primary", Emulator.Read(string.Empty, "v1", "services", "shop", "checkout")!["spec"]!["selector"]!["app"]!.GetValue<string>());
    }

    [Fact]
    public void Routers_are_found_by_name()
    {
        var registry = RouterRegistry.ForKubernetes(Client, TimeProvider.System);
        Assert.Equal(["istio", "nginx", "service", "traefik"], registry.Names.Order(StringComparer.Ordinal));
        Assert.IsType<IstioRouter>(registry.Get("istio"));
        var e = Assert.Throws<RoutingException>(() => registry.Get("linkerd"));
        Assert.Equal("router \"linkerd\" is not one of istio, nginx, service, traefik", e.Message);
    }

    /// <summary>The three services as workloads leave them: checkout and checkout-primary select the primary, checkout-canary the canary.</summary>
    private void WriteServices()
    {
        foreach (var (name, selector) in new[] { ("checkout", "checkout-primary"), ("checkout-primary", "checkout-primary"), ("checkout-canary", "checkout") })
        {
            Emulator.Write(string.Empty, "v1", "services", "shop", Node($$$"""{"metadata": {"name": "{{{name}}}"}, "spec": {"selector": {"app": "{{{selector}}}"}, "ports": [{"port": 8080}]}}"""));
        }
    }
}
