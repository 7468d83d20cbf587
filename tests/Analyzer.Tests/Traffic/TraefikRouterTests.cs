using System.Text.Json.Nodes;
using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Tests.Traffic;

/// <summary>The Traefik router: a weighted TraefikService (its own, or the user's adopted).</summary>
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
