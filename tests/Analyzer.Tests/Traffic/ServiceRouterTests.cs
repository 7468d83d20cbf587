using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>The service router (the apex Service switched between primary and canary), and finding routers by name.</summary>
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
