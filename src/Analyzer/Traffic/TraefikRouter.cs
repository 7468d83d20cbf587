using Canary.Analyzer.Kubernetes;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s;

namespace Canary.Analyzer.Traffic;

/// <summary>
/// Traefik: a TraefikService `app` (traefik.io/v1alpha1) of kind weighted with the Services
/// `app-primary` and `app-canary`; an IngressRoute of the user's points at it. Traefik's weighted
/// services have no header match or mirroring here.
/// </summary>
internal sealed class TraefikRouter(IKubernetes client, TimeProvider time) : ITrafficRouter
{
    private readonly CustomObjects services = new(client, time, "traefik.io", "v1alpha1", "traefikservices", "TraefikService");

    public string Name => RouterNames.Traefik;

    /// <summary>By pod name (<see cref="PodCohorts"/>).</summary>
    public CohortLabels DefaultCohorts(string target, string revision) => PodCohorts.Of(target);

    public async Task ReconcileAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var port = await PortAsync(target, cancellationToken);
        await services.EnsureAsync(target.Namespace, target.Name, () => Spec(target, port, 0), current =>
        {
            var weight = Read(current, target) ?? 0;
            var before = current["spec"]?.ToJsonString();
            current["spec"] = Spec(target, port, weight);
            return current["spec"]!.ToJsonString() != before;
        }, cancellationToken);
    }

    public async Task SetRoutingAsync(RouterTarget target, Routing routing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(routing);
        routing.Validated();
        if (routing.Match is not null || routing.Mirror)
        {
            throw new RoutingException("the traefik router splits traffic by weight only; A/B matches and mirroring need istio (or nginx for A/B)");
        }

        var port = await PortAsync(target, cancellationToken);
        await services.UpdateAsync(target.Namespace, target.Name, current =>
        {
            var before = current["spec"]?.ToJsonString();
            current["spec"] = Spec(target, port, routing.CanaryWeight);
            return current["spec"]!.ToJsonString() != before;
        }, cancellationToken);
    }

    public async Task<Routing> GetRoutingAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var service = await services.GetAsync(target.Namespace, target.Name, cancellationToken)
            ?? throw new RoutingException($"{services.Describe(target.Namespace, target.Name)} does not exist; reconcile the router first");
        return new Routing(Read(service, target) ?? throw new RoutingException($"{services.Describe(target.Namespace, target.Name)} does not weigh {target.Primary} and {target.Canary}"));
    }

    public Task FinalizeAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return services.RestoreAsync(target.Namespace, target.Name, cancellationToken);
    }

    /// <summary>The port of the weighted services: the target's setting, else the primary Service's first port, else 80.</summary>
    private async Task<int> PortAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        if (target.Port is { } port)
        {
            return port;
        }

        var primary = await Kubernetes.KubernetesWrites.ReadOrNullAsync($"read service {target.Namespace}/{target.Primary}",
            () => client.CoreV1.ReadNamespacedServiceAsync(target.Primary, target.Namespace, cancellationToken: cancellationToken));
        return primary?.Spec?.Ports?.FirstOrDefault()?.Port ?? 80;
    }

    private static JsonObject Spec(RouterTarget target, int port, int canaryWeight) => new()
    {
        ["weighted"] = new JsonObject
        {
            ["services"] = new JsonArray(
                new JsonObject { ["name"] = target.Primary, ["port"] = port, ["weight"] = 100 - canaryWeight },
                new JsonObject { ["name"] = target.Canary, ["port"] = port, ["weight"] = canaryWeight }),
        },
    };

    /// <summary>The canary's share of the weights in the cluster (in percent of their sum), or null when the service does not weigh both.</summary>
    private static int? Read(JsonObject service, RouterTarget target)
    {
        var weighted = (service["spec"]?["weighted"]?["services"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        double Weight(string name) => weighted.Where(s => s["name"]?.GetValue<string>() == name)
            .Sum(s => s["weight"] is { } w ? double.Parse(w.ToJsonString(), CultureInfo.InvariantCulture) : 1);
        if (!weighted.Any(s => s["name"]?.GetValue<string>() == target.Primary) || !weighted.Any(s => s["name"]?.GetValue<string>() == target.Canary))
        {
            return null;
        }

        var total = Weight(target.Primary) + Weight(target.Canary);
        return total <= 0 ? 0 : (int)Math.Round(100 * Weight(target.Canary) / total);
    }
}
