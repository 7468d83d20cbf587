using Canary.Analyzer.Kubernetes;
using k8s;
using k8s.Models;

namespace Canary.Analyzer.Traffic;

/// <summary>
/// Blue/green without a mesh or an ingress controller: the apex Service `app` selects either the
/// primary's pods or the canary's, switched in one write. Weights are therefore 0 or 100.
/// </summary>
internal sealed class ServiceRouter(IKubernetes client, TimeProvider time) : ITrafficRouter
{
    /// <summary>On the apex Service: its selector before canary switched it (JSON), for finalizing.</summary>
    public const string OriginalSelectorAnnotation = "canary.dev/original-selector";

    public string Name => RouterNames.Service;

    /// <summary>By pod name (<see cref="PodCohorts"/>).</summary>
    public CohortLabels DefaultCohorts(string target, string revision) => PodCohorts.Of(target);

    public Task ReconcileAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return UpdateApexAsync(target, apex =>
        {
            if (apex.Metadata.Annotations?.ContainsKey(OriginalSelectorAnnotation) == true)
            {
                return false;
            }

            apex.Metadata.Annotations ??= new Dictionary<string, string>();
            apex.Metadata.Annotations[OriginalSelectorAnnotation] = KubernetesJson.Serialize(apex.Spec.Selector ?? new Dictionary<string, string>());
            return true;
        }, cancellationToken);
    }

    public async Task SetRoutingAsync(RouterTarget target, Routing routing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(routing);
        routing.Validated();
        if (routing.CanaryWeight is not (0 or 100) || routing.Match is not null || routing.Mirror)
        {
            throw new RoutingException($"the service router switches all traffic at once: the canary weight is 0 or 100, not {routing.CanaryWeight}{(routing.Match is null ? string.Empty : ", and it has no A/B match")}");
        }

        var selector = await SelectorOfAsync(target, routing.CanaryWeight == 100 ? target.Canary : target.Primary, cancellationToken);
        await UpdateApexAsync(target, apex =>
        {
            var same = Same(apex.Spec.Selector, selector);
            apex.Spec.Selector = selector;
            return !same;
        }, cancellationToken);
    }

    public async Task<Routing> GetRoutingAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var apex = await ReadAsync(target, target.Name, cancellationToken);
        if (Same(apex.Spec.Selector, await SelectorOfAsync(target, target.Canary, cancellationToken)))
        {
            return new Routing(100);
        }

        return Same(apex.Spec.Selector, await SelectorOfAsync(target, target.Primary, cancellationToken))
            ? Routing.AllPrimary
            : throw new RoutingException($"service {target.Namespace}/{target.Name} selects neither the primary's nor the canary's pods: {KubernetesJson.Serialize(apex.Spec.Selector)}");
    }

    public Task FinalizeAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return UpdateApexAsync(target, apex =>
        {
            if (apex.Metadata.Annotations?.TryGetValue(OriginalSelectorAnnotation, out var original) != true)
            {
                return false;
            }

            apex.Spec.Selector = KubernetesJson.Deserialize<Dictionary<string, string>>(original!);
            apex.Metadata.Annotations.Remove(OriginalSelectorAnnotation);
            return true;
        }, cancellationToken);
    }

    private async Task<IDictionary<string, string>> SelectorOfAsync(RouterTarget target, string service, CancellationToken cancellationToken) =>
        (await ReadAsync(target, service, cancellationToken)).Spec.Selector
        ?? throw new RoutingException($"service {target.Namespace}/{service} has no selector");

    private async Task<V1Service> ReadAsync(RouterTarget target, string name, CancellationToken cancellationToken) =>
        await KubernetesWrites.ReadOrNullAsync($"read service {target.Namespace}/{name}",
            () => client.CoreV1.ReadNamespacedServiceAsync(name, target.Namespace, cancellationToken: cancellationToken))
        ?? throw new RoutingException($"service {target.Namespace}/{name} does not exist; initialize the workloads first");

    private Task<V1Service> UpdateApexAsync(RouterTarget target, Func<V1Service, bool> change, CancellationToken cancellationToken) =>
        KubernetesWrites.UpdateAsync(
            $"service {target.Namespace}/{target.Name}",
            () => ReadAsync(target, target.Name, cancellationToken),
            change,
            apex => client.CoreV1.ReplaceNamespacedServiceAsync(apex, target.Name, target.Namespace, cancellationToken: cancellationToken),
            time,
            cancellationToken);

    private static bool Same(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? new Dictionary<string, string>()).All(p => b is not null && b.TryGetValue(p.Key, out var v) && v == p.Value);
}
