using Canary.Analyzer.Kubernetes;
using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Workloads;
using k8s;

namespace Canary.Analyzer.Serving;

/// <summary>
/// Resolves a Canary's analysis.configRef: the ConfigMap of that name in the Canary's namespace,
/// key canary.yaml (else its only key), read as a canary config. A missing or invalid config
/// leaves the analysis without evidence, with the reason.
/// </summary>
internal sealed class ConfigMapConfigs(IKubernetes client, TemplateLibrary templates)
{
    public const string Key = "canary.yaml";

    /// <exception cref="InputException">The ConfigMap is missing, has no usable key, or holds an invalid config.</exception>
    public async Task<CanaryConfig> ResolveAsync(CanaryResource resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var name = resource.ConfigRef ?? throw new InputException("spec.analysis.configRef is not set");
        var map = await KubernetesWrites.ReadOrNullAsync($"read configmap {resource.Namespace}/{name}",
            () => client.CoreV1.ReadNamespacedConfigMapAsync(name, resource.Namespace, cancellationToken: cancellationToken))
            ?? throw new InputException($"configmap {resource.Namespace}/{name} (spec.analysis.configRef) does not exist");
        var data = map.Data ?? new Dictionary<string, string>();
        var text = data.TryGetValue(Key, out var yaml) ? yaml
            : data.Count == 1 ? data.Values.First()
            : throw new InputException($"configmap {resource.Namespace}/{name} has no key {Key} (and more than one other key)");
        return CanaryConfigReader.Read($"configmap {resource.Namespace}/{name}", text, templates, new Dictionary<string, string> { ["namespace"] = resource.Namespace });
    }
}
