namespace Canary.Analyzer.Traffic;

/// <summary>A/B routing: requests with this header (equal to HeaderValue, or any value when null) or this cookie go to the canary.</summary>
internal sealed record RouteMatch(string? Header = null, string? HeaderValue = null, string? Cookie = null)
{
    public override string ToString() => Header is not null ? $"header {Header}{(HeaderValue is null ? string.Empty : $"={HeaderValue}")}" : $"cookie {Cookie}";
}

/// <summary>How traffic is split: the canary's share in percent (the primary gets the rest), an optional A/B match, optional mirroring to the canary.</summary>
internal sealed record Routing(int CanaryWeight, RouteMatch? Match = null, bool Mirror = false)
{
    public int PrimaryWeight => 100 - CanaryWeight;

    public static Routing AllPrimary { get; } = new(0);

    /// <exception cref="ArgumentOutOfRangeException">The weight is not between 0 and 100.</exception>
    public Routing Validated() => CanaryWeight is < 0 or > 100
        ? throw new ArgumentOutOfRangeException(nameof(CanaryWeight), CanaryWeight, "a weight is between 0 and 100")
        : this;
}

/// <summary>What a router routes: the apex name (the Service `app`) and the settings of its provider.</summary>
internal sealed record RouterTarget(string Namespace, string Name)
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
internal interface ITrafficRouter
{
    /// <summary>The name a Canary resource uses for it (<see cref="RouterNames"/>).</summary>
    string Name { get; }

    /// <summary>The labels that select the primary's and the canary's traffic of target in metrics; revision is the one under release.</summary>
    CohortLabels DefaultCohorts(string target, string revision);

    /// <summary>Creates or repairs the routing objects; new ones send all traffic to the primary, existing weights are kept.</summary>
    Task ReconcileAsync(RouterTarget target, CancellationToken cancellationToken);

    Task SetRoutingAsync(RouterTarget target, Routing routing, CancellationToken cancellationToken);

    Task<Routing> GetRoutingAsync(RouterTarget target, CancellationToken cancellationToken);

    /// <summary>Puts back the routing found before canary took over: what canary created is deleted, what it changed is restored.</summary>
    Task FinalizeAsync(RouterTarget target, CancellationToken cancellationToken);
}

/// <summary>A routing this provider cannot express (e.g. mirroring with NGINX), or a router that is not set up.</summary>
internal sealed class RoutingException : Documents.ExternalFaultException
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
internal sealed class RouterRegistry
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

/// <summary>The routers' names, as a Canary's spec.router gives them.</summary>
internal static class RouterNames
{
    public const string Istio = "istio";
    public const string Nginx = "nginx";
    public const string Traefik = "traefik";
    public const string Service = "service";

    /// <summary>Local mode only: HAProxy in front of local processes.</summary>
    public const string Haproxy = "haproxy";

    public static IReadOnlyList<string> All { get; } = [Istio, Nginx, Traefik, Service, Haproxy];
}

/// <summary>
/// How a router's traffic tells the two versions apart in metrics: a label and its value (or RE2
/// pattern) for the primary and for the canary. The default cohorts of a Canary without
/// spec.analysis.cohorts (docs/rollouts.md).
/// </summary>
internal sealed record CohortLabels(string Label, string Primary, string Canary, bool Regex);

/// <summary>Pod names as Kubernetes (and local mode) give them: NAME-primary-… for the primary, NAME-HASH-SUFFIX for the canary.</summary>
internal static class PodCohorts
{
    public static CohortLabels Of(string target) => new("pod", $"{Escape(target)}-primary-.*", $"{Escape(target)}-[a-z0-9]+-[a-z0-9]+", Regex: true);

    /// <summary>A literal inside an RE2 pattern: every character RE2 gives a meaning is escaped.</summary>
    public static string Escape(string literal)
    {
        ArgumentNullException.ThrowIfNull(literal);
        var escaped = new System.Text.StringBuilder(literal.Length);
        foreach (var c in literal)
        {
            if (@"\.+*?()|[]{}^$".Contains(c, StringComparison.Ordinal))
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
