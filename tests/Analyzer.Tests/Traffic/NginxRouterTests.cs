using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>The nginx router: a canary Ingress cloned from the user's, weighted or matched by annotations.</summary>
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
