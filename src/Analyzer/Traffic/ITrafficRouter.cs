namespace Canary.Analyzer.Traffic;

/// <summary>A/B routing: requests with this header (equal to HeaderValue, or any value when null) or this cookie go to the canary.</summary>
public sealed record RouteMatch(string? Header = null, string? HeaderValue = null, string? Cookie = null)
{
    public override string ToString() => Header is not null ? $"header {Header}{(HeaderValue is null ? string.Empty : $"={HeaderValue}")}" : $"cookie {Cookie}";
}

/// <summary>How traffic is split: the canary's share in percent (the primary gets the rest), an optional A/B match, optional mirroring to the canary.</summary>
public sealed record Routing(int CanaryWeight, RouteMatch? Match = null, bool Mirror = false)
{
    public int PrimaryWeight => 100 - CanaryWeight;

    public static Routing AllPrimary { get; } = new(0);

    /// <exception cref="ArgumentOutOfRangeException">The weight is not between 0 and 100.</exception>
    public Routing Validated() => CanaryWeight is < 0 or > 100
        ? throw new ArgumentOutOfRangeException(nameof(CanaryWeight), CanaryWeight, "a weight is between 0 and 100")
        : this;
}

/// <summary>What a router routes: the apex name (the Service `app`) and the settings of its provider.</summary>
public sealed record RouterTarget(string Namespace, string Name)
{
    /// <summary>Istio: the VirtualService's hosts (default: the apex name).</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>Istio: the gateways of the VirtualService (default: none, i.e. the mesh).</summary>
    public IReadOnlyList<string> Gateways { get; init; } = [];

    /// <summary>NGINX: the user's Ingress (default: the apex name).</summary>
    public string? Ingress { get; init; }

    /// <summary>Traefik: the services' port; by default the port of the Service `app-primary` (which the workloads create).</summary>
    public int? Port { get; init; }

    /// <summary>HAProxy: the runtime API, a unix socket path or host:port (stats socket ... level admin).</summary>
    public string? RuntimeApi { get; init; }

    /// <summary>HAProxy: the backend holding the primary's and the canary's server (default: the apex name).</summary>
    public string? Backend { get; init; }

    /// <summary>HAProxy: the primary's server in the backend.</summary>
    public string PrimaryServer { get; init; } = "primary";

    /// <summary>HAProxy: the canary's server in the backend.</summary>
    public string CanaryServer { get; init; } = "canary";

    public string Primary => $"{Name}-primary";

    public string Canary => $"{Name}-canary";
}

/// <summary>
/// Moves traffic between primary and canary (DESIGN: Traffic/). Every method is idempotent; what
/// <see cref="GetRoutingAsync"/> returns is read from the cluster, so an edit by hand shows.
/// </summary>
public interface ITrafficRouter
{
    /// <summary>The name a Canary resource uses for it: istio, nginx, traefik, service.</summary>
    string Name { get; }

    /// <summary>Creates or repairs the routing objects; new ones send all traffic to the primary, existing weights are kept.</summary>
    Task ReconcileAsync(RouterTarget target, CancellationToken cancellationToken);

    Task SetRoutingAsync(RouterTarget target, Routing routing, CancellationToken cancellationToken);

    Task<Routing> GetRoutingAsync(RouterTarget target, CancellationToken cancellationToken);

    /// <summary>Puts back the routing found before canary took over: what canary created is deleted, what it changed is restored.</summary>
    Task FinalizeAsync(RouterTarget target, CancellationToken cancellationToken);
}

/// <summary>A routing this provider cannot express (e.g. mirroring with NGINX), or a router that is not set up.</summary>
public sealed class RoutingException : Exception
{
    public RoutingException(string message)
        : base(message)
    {
    }

    public RoutingException()
    {
    }

    public RoutingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The routers by name, as a Canary resource names them.</summary>
public sealed class RouterRegistry
{
    private readonly Dictionary<string, ITrafficRouter> routers = new(StringComparer.Ordinal);

    public RouterRegistry(IEnumerable<ITrafficRouter> all)
    {
        ArgumentNullException.ThrowIfNull(all);
        foreach (var router in all)
        {
            routers[router.Name] = router;
        }
    }

    public IReadOnlyCollection<string> Names => routers.Keys;

    /// <exception cref="RoutingException">No router has this name.</exception>
    public ITrafficRouter Get(string name) => routers.TryGetValue(name, out var router)
        ? router
        : throw new RoutingException($"router \"{name}\" is not one of {string.Join(", ", routers.Keys.Order(StringComparer.Ordinal))}");

    /// <summary>The Kubernetes routers: istio, nginx, traefik, service.</summary>
    public static RouterRegistry ForKubernetes(k8s.IKubernetes client, TimeProvider time) =>
        new([new IstioRouter(client, time), new NginxRouter(client, time), new TraefikRouter(client, time), new ServiceRouter(client, time)]);
}
