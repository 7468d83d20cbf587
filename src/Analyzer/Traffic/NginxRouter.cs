using Canary.Analyzer.Kubernetes;
using System.Globalization;
using k8s;
using k8s.Models;

namespace Canary.Analyzer.Traffic;

/// <summary>
/// NGINX ingress: an Ingress `app-canary` cloned from the user's Ingress, its backends pointed at the
/// `app-canary` Service, marked `nginx.ingress.kubernetes.io/canary: "true"` with `canary-weight`,
/// and `canary-by-header` (with `-value`, or `-pattern: .*` for any value) or `canary-by-cookie` for
/// A/B tests (ingress-nginx sends a request to the canary when that cookie is "always"). The user's
/// Ingress is never modified. NGINX cannot mirror to a canary ingress.
/// </summary>
internal sealed class NginxRouter(IKubernetes client, TimeProvider time) : ITrafficRouter
{
    public const string Prefix = "nginx.ingress.kubernetes.io/";
    private const string CanaryKey = Prefix + "canary";
    private const string WeightKey = Prefix + "canary-weight";
    private const string HeaderKey = Prefix + "canary-by-header";
    private const string HeaderValueKey = Prefix + "canary-by-header-value";
    private const string CookieKey = Prefix + "canary-by-cookie";
    private const string HeaderPatternKey = Prefix + "canary-by-header-pattern";
    private static readonly string[] CanaryKeys = [CanaryKey, WeightKey, HeaderKey, HeaderValueKey, CookieKey, HeaderPatternKey, Prefix + "canary-weight-total"];

    public string Name => RouterNames.Nginx;

    /// <summary>ingress-nginx labels requests by the Service they went to: NAME (the primary) and NAME-canary.</summary>
    public CohortLabels DefaultCohorts(string target, string revision) => new("service", target, $"{target}-canary", Regex: false);

    public async Task ReconcileAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var source = await ReadUserIngressAsync(target, cancellationToken);
        var existing = await KubernetesWrites.ReadOrNullAsync($"read ingress {target.Namespace}/{target.Canary}",
            () => client.NetworkingV1.ReadNamespacedIngressAsync(target.Canary, target.Namespace, cancellationToken: cancellationToken));
        if (existing is null)
        {
            var canary = Clone(source, target);
            Apply(canary.Metadata.Annotations, Routing.AllPrimary);
            await KubernetesWrites.Call($"create ingress {target.Namespace}/{target.Canary}",
                () => client.NetworkingV1.CreateNamespacedIngressAsync(canary, target.Namespace, cancellationToken: cancellationToken));
            return;
        }

        // Follow the user's Ingress (hosts, paths, TLS), keeping the routing already set.
        await UpdateAsync(target, ingress =>
        {
            var clone = Clone(source, target);
            var routing = Read(ingress);
            Apply(clone.Metadata.Annotations, routing);
            var changed = KubernetesJson.Serialize(ingress.Spec) != KubernetesJson.Serialize(clone.Spec)
                || !SameAnnotations(ingress.Metadata.Annotations, clone.Metadata.Annotations);
            ingress.Spec = clone.Spec;
            ingress.Metadata.Annotations = clone.Metadata.Annotations;
            return changed;
        }, cancellationToken);
    }

    public Task SetRoutingAsync(RouterTarget target, Routing routing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(routing);
        routing.Validated();
        if (routing.Mirror)
        {
            throw new RoutingException("the nginx router cannot mirror traffic: ingress-nginx has no mirroring for canary ingresses; use istio");
        }

        return UpdateAsync(target, ingress =>
        {
            var annotations = new Dictionary<string, string>(ingress.Metadata.Annotations ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            Apply(annotations, routing);
            var changed = !SameAnnotations(ingress.Metadata.Annotations, annotations);
            ingress.Metadata.Annotations = annotations;
            return changed;
        }, cancellationToken);
    }

    public async Task<Routing> GetRoutingAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var ingress = await KubernetesWrites.ReadOrNullAsync($"read ingress {target.Namespace}/{target.Canary}",
            () => client.NetworkingV1.ReadNamespacedIngressAsync(target.Canary, target.Namespace, cancellationToken: cancellationToken))
            ?? throw new RoutingException($"ingress {target.Namespace}/{target.Canary} does not exist; reconcile the router first");
        return Read(ingress);
    }

    public Task FinalizeAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return KubernetesWrites.DeleteAsync($"delete ingress {target.Namespace}/{target.Canary}",
            () => client.NetworkingV1.DeleteNamespacedIngressAsync(target.Canary, target.Namespace, cancellationToken: cancellationToken));
    }

    private async Task<V1Ingress> ReadUserIngressAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        var name = target.Ingress ?? target.Name;
        return await KubernetesWrites.ReadOrNullAsync($"read ingress {target.Namespace}/{name}",
            () => client.NetworkingV1.ReadNamespacedIngressAsync(name, target.Namespace, cancellationToken: cancellationToken))
            ?? throw new RoutingException($"the nginx router needs the Ingress {target.Namespace}/{name} that serves {target.Name}; it does not exist");
    }

    private Task<V1Ingress> UpdateAsync(RouterTarget target, Func<V1Ingress, bool> change, CancellationToken cancellationToken) =>
        KubernetesWrites.UpdateAsync(
            $"ingress {target.Namespace}/{target.Canary}",
            async () => await KubernetesWrites.ReadOrNullAsync($"read ingress {target.Namespace}/{target.Canary}",
                () => client.NetworkingV1.ReadNamespacedIngressAsync(target.Canary, target.Namespace, cancellationToken: cancellationToken))
                ?? throw new RoutingException($"ingress {target.Namespace}/{target.Canary} does not exist; reconcile the router first"),
            change,
            ingress => client.NetworkingV1.ReplaceNamespacedIngressAsync(ingress, target.Canary, target.Namespace, cancellationToken: cancellationToken),
            time,
            cancellationToken);

    /// <summary>The user's Ingress as a canary Ingress: same rules and TLS, backends of the apex or primary Service pointed at the canary Service.</summary>
    private static V1Ingress Clone(V1Ingress source, RouterTarget target)
    {
        var copy = KubernetesJson.Deserialize<V1Ingress>(KubernetesJson.Serialize(source));
        void Point(V1IngressBackend? backend)
        {
            if (backend?.Service is { } service && (service.Name == target.Name || service.Name == target.Primary))
            {
                service.Name = target.Canary;
            }
        }

        var pointed = 0;
        void Count(V1IngressBackend? backend)
        {
            var before = backend?.Service?.Name;
            Point(backend);
            pointed += before is not null && before != backend!.Service!.Name ? 1 : 0;
        }

        Count(copy.Spec.DefaultBackend);
        foreach (var path in copy.Spec.Rules?.SelectMany(r => r.Http?.Paths ?? []) ?? [])
        {
            Count(path.Backend);
        }

        if (pointed == 0)
        {
            throw new RoutingException($"ingress {target.Namespace}/{source.Metadata.Name} has no backend for the service {target.Name} (or {target.Primary}); a canary ingress cloned from it would not reach the canary");
        }

        var annotations = (source.Metadata.Annotations ?? new Dictionary<string, string>())
            .Where(p => p.Key != "kubectl.kubernetes.io/last-applied-configuration" && !CanaryKeys.Contains(p.Key))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "Ingress",
            Metadata = new V1ObjectMeta
            {
                Name = target.Canary,
                NamespaceProperty = target.Namespace,
                Labels = new Dictionary<string, string> { [KubernetesLabels.ManagedBy] = KubernetesLabels.Canary },
                Annotations = annotations,
            },
            Spec = copy.Spec,
        };
    }

    private static void Apply(IDictionary<string, string> annotations, Routing routing)
    {
        annotations[CanaryKey] = "true";
        annotations[WeightKey] = routing.CanaryWeight.ToString(CultureInfo.InvariantCulture);
        foreach (var key in new[] { HeaderKey, HeaderValueKey, HeaderPatternKey, CookieKey })
        {
            annotations.Remove(key);
        }

        if (routing.Match is { Header: { } header } match)
        {
            annotations[HeaderKey] = header;
            // Alone, canary-by-header routes only the value "always"; any value needs a pattern.
            annotations[match.HeaderValue is null ? HeaderPatternKey : HeaderValueKey] = match.HeaderValue ?? ".*";
        }
        else if (routing.Match is { Cookie: { } cookie })
        {
            annotations[CookieKey] = cookie;
        }
    }

    private static Routing Read(V1Ingress ingress)
    {
        var annotations = ingress.Metadata.Annotations ?? new Dictionary<string, string>();
        string? Get(string key) => annotations.TryGetValue(key, out var value) ? value : null;
        if (Get(CanaryKey) != "true")
        {
            return Routing.AllPrimary;
        }

        var weight = int.TryParse(Get(WeightKey), NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? Math.Clamp(w, 0, 100) : 0;
        var match = Get(HeaderKey) is { } header ? new RouteMatch(header, Get(HeaderValueKey) ?? (Get(HeaderPatternKey) is null or ".*" ? null : $"~{Get(HeaderPatternKey)}"))
            : Get(CookieKey) is { } cookie ? new RouteMatch(Cookie: cookie) : null;
        return new Routing(weight, match);
    }

    private static bool SameAnnotations(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? new Dictionary<string, string>()).All(p => b is not null && b.TryGetValue(p.Key, out var v) && v == p.Value);
}
