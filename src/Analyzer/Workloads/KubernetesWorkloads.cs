using Canary.Analyzer.Kubernetes;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace Canary.Analyzer.Workloads;

/// <summary>
/// Primary/canary ownership on Kubernetes, as Flagger does it: the target Deployment `app` is the
/// canary (scaled to 0 between releases); `app-primary` is canary's copy of it that serves
/// production, with its own selector label and its own copies of the ConfigMaps and Secrets the
/// pods use; the Services `app` (apex) and `app-primary` select the primary's pods, `app-canary` the
/// target's. Every write is read-modify-write with bounded retry on 409.
/// </summary>
internal sealed class KubernetesWorkloads(IKubernetes client, TimeProvider time) : IWorkloadController
{
    private readonly PrimaryConfigs primaryConfigs = new(client, time);

    /// <summary>Labels canary puts on what it creates.</summary>
    public const string ManagedByLabel = KubernetesLabels.ManagedBy;

    /// <summary>On any object canary writes: a comma-separated list of label and annotation keys the user owns there; canary never sets them.</summary>
    public const string UserKeysAnnotation = "canary.dev/user-keys";

    /// <summary>On the target: its replicas before canary scaled it to 0.</summary>
    public const string ReplicasAnnotation = "canary.dev/replicas";

    /// <summary>On the primary: the revision it runs.</summary>
    public const string RevisionAnnotation = "canary.dev/revision";

    private const string LastApplied = "kubectl.kubernetes.io/last-applied-configuration";

    /// <summary>The selector labels Flagger looks for, in order; otherwise the selector's first label.</summary>
    private static readonly string[] SelectorKeys = ["app", "app.kubernetes.io/name", "name"];

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public async Task<WorkloadState> InitializeAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var snapshot = await SnapshotAsync(target, cancellationToken);
        var deployment = snapshot.Deployment;
        var (key, value) = SelectorLabel(deployment, target);
        var replicas = deployment.Spec.Replicas is { } r and > 0 ? r
            : int.TryParse(Get(deployment.Metadata.Annotations, ReplicasAnnotation), out var recorded) ? recorded : 1;
        await AnnotateAsync(target.Namespace, target.Name, ReplicasAnnotation, replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

        // Existing -primary copies belong to the primary's release: only missing ones are created here.
        var configs = await primaryConfigs.CopyAsync(target, snapshot.ConfigMaps, snapshot.Secrets, overwrite: false, cancellationToken);
        var primary = await KubernetesWrites.ReadOrNullAsync($"read deployment {target.Namespace}/{target.Primary}",
            () => client.AppsV1.ReadNamespacedDeploymentAsync(target.Primary, target.Namespace, cancellationToken: cancellationToken));
        if (primary is null)
        {
            // Created once from the target; afterwards only promotion changes the primary's pods.
            var created = PrimaryFrom(deployment, target, key, value, replicas, configs, snapshot.Revision);
            await KubernetesWrites.Call($"create deployment {target.Namespace}/{target.Primary}",
                () => client.AppsV1.CreateNamespacedDeploymentAsync(created, target.Namespace, cancellationToken: cancellationToken));
        }

        await WaitReadyAsync(target.Namespace, target.Primary, target.ProgressDeadline, cancellationToken);
        var containerPort = deployment.Spec.Template.Spec.Containers.SelectMany(c => c.Ports ?? []).Select(p => (int?)p.ContainerPort).FirstOrDefault();
        var port = target.Port ?? containerPort ?? 80;
        var targetPort = containerPort ?? port;
        await ApplyServiceAsync(target, target.Name, key, value + "-primary", port, targetPort, cancellationToken);
        await ApplyServiceAsync(target, target.Primary, key, value + "-primary", port, targetPort, cancellationToken);
        await ApplyServiceAsync(target, target.Canary, key, value, port, targetPort, cancellationToken);
        await ScaleAsync(target.Namespace, target.Name, 0, cancellationToken);
        var running = await KubernetesWrites.Call($"read deployment {target.Namespace}/{target.Primary}",
            () => client.AppsV1.ReadNamespacedDeploymentAsync(target.Primary, target.Namespace, cancellationToken: cancellationToken));
        return new WorkloadState(Get(running.Metadata.Annotations, RevisionAnnotation) ?? string.Empty, replicas);
    }

    public async Task<string> RevisionAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return (await SnapshotAsync(target, cancellationToken)).Revision;
    }

    /// <summary>
    /// The target and the ConfigMaps and Secrets it uses, read once, with the revision they make:
    /// a hash of the pod template (without canary's annotations) and of the configs' data.
    /// Promotion copies from the same reads it checked, so nothing unanalysed slips in between.
    /// </summary>
    private async Task<Snapshot> SnapshotAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        var deployment = await ReadTargetAsync(target, cancellationToken);
        var template = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(deployment.Spec.Template));
        template.Metadata?.Annotations?.Keys.Where(k => k.StartsWith("canary.dev/", StringComparison.Ordinal)).ToList().ForEach(k => template.Metadata.Annotations.Remove(k));
        var text = new StringBuilder(KubernetesJson.Serialize(template));
        var maps = new Dictionary<string, V1ConfigMap>(StringComparer.Ordinal);
        var secrets = new Dictionary<string, V1Secret>(StringComparer.Ordinal);
        foreach (var (kind, name) in PrimaryConfigs.References(deployment.Spec.Template.Spec).OrderBy(r => r.Kind, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal))
        {
            text.Append('\n').Append(kind).Append('/').Append(name).Append('=');
            if (kind == "configmap")
            {
                var map = await KubernetesWrites.ReadOrNullAsync($"read configmap {target.Namespace}/{name}", () => client.CoreV1.ReadNamespacedConfigMapAsync(name, target.Namespace, cancellationToken: cancellationToken));
                if (map is not null)
                {
                    maps[name] = map;
                }

                text.Append(Json(map?.Data is { } data ? new SortedDictionary<string, string>(data, StringComparer.Ordinal) : null));
                text.Append(Json(map?.BinaryData?.ToDictionary(p => p.Key, p => Convert.ToBase64String(p.Value)) is { } binary ? new SortedDictionary<string, string>(binary, StringComparer.Ordinal) : null));
            }
            else
            {
                var secret = await KubernetesWrites.ReadOrNullAsync($"read secret {target.Namespace}/{name}", () => client.CoreV1.ReadNamespacedSecretAsync(name, target.Namespace, cancellationToken: cancellationToken));
                if (secret is not null)
                {
                    secrets[name] = secret;
                }

                text.Append(Json(secret?.Data?.ToDictionary(p => p.Key, p => Convert.ToBase64String(p.Value)) is { } values ? new SortedDictionary<string, string>(values, StringComparer.Ordinal) : null));
            }
        }

        var revision = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
        return new Snapshot(deployment, maps, secrets, revision);
    }

    public async Task ScaleCanaryAsync(WorkloadTarget target, int? replicas, CancellationToken cancellationToken, bool wait = true)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (replicas is null)
        {
            var deployment = await ReadTargetAsync(target, cancellationToken);
            replicas = int.TryParse(Get(deployment.Metadata.Annotations, ReplicasAnnotation), out var recorded) && recorded > 0 ? recorded : Math.Max(1, deployment.Spec.Replicas ?? 1);
        }

        await ScaleAsync(target.Namespace, target.Name, replicas.Value, cancellationToken);
        if (wait)
        {
            await WaitReadyAsync(target.Namespace, target.Name, target.ProgressDeadline, cancellationToken);
        }
    }

    public async Task<WorkloadStatus> StatusAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var revision = await RevisionAsync(target, cancellationToken);
        var canary = await KubernetesWrites.ReadOrNullAsync($"read deployment {target.Namespace}/{target.Name}",
            () => client.AppsV1.ReadNamespacedDeploymentAsync(target.Name, target.Namespace, cancellationToken: cancellationToken));
        var primary = await KubernetesWrites.ReadOrNullAsync($"read deployment {target.Namespace}/{target.Primary}",
            () => client.AppsV1.ReadNamespacedDeploymentAsync(target.Primary, target.Namespace, cancellationToken: cancellationToken));
        return new WorkloadStatus(revision, Readiness(canary), Readiness(primary), primary is null ? null : Get(primary.Metadata.Annotations, RevisionAnnotation));
    }

    /// <summary>Ready: the current generation rolled out with every replica up (0 of 0 counts); Failed: ProgressDeadlineExceeded.</summary>
    private static WorkloadReadiness Readiness(V1Deployment? deployment)
    {
        if (deployment is null)
        {
            return WorkloadReadiness.Missing;
        }

        var status = deployment.Status;
        var wanted = deployment.Spec.Replicas ?? 1;
        if (status is null || status.ObservedGeneration < deployment.Metadata.Generation)
        {
            return WorkloadReadiness.NotReady;
        }

        if (status.Conditions?.Any(c => c.Type == "Progressing" && c.Status == "False" && c.Reason == "ProgressDeadlineExceeded") == true)
        {
            return WorkloadReadiness.Failed;
        }

        return wanted > 0 && (status.UpdatedReplicas ?? 0) >= wanted && (status.ReadyReplicas ?? 0) >= wanted && (status.AvailableReplicas ?? 0) >= wanted && (status.Replicas ?? 0) <= wanted
            ? WorkloadReadiness.Ready
            : WorkloadReadiness.NotReady;
    }

    public async Task PromoteAsync(WorkloadTarget target, string revision, CancellationToken cancellationToken, bool wait = true)
    {
        ArgumentNullException.ThrowIfNull(target);
        var snapshot = await SnapshotAsync(target, cancellationToken);
        if (snapshot.Revision != revision)
        {
            throw new RevisionChangedException($"deployment {target.Namespace}/{target.Name} changed during its analysis (revision {revision} analysed, {snapshot.Revision} now); the primary was left as it was");
        }

        var (key, value) = SelectorLabel(snapshot.Deployment, target);
        // Like Flagger: the -primary configs are updated just before the pod template. The revision
        // in the template's annotations makes a release that changed only configs roll the pods too.
        var configs = await primaryConfigs.CopyAsync(target, snapshot.ConfigMaps, snapshot.Secrets, overwrite: true, cancellationToken);
        var source = PrimaryFrom(snapshot.Deployment, target, key, value, 1, configs, revision);
        await UpdateDeploymentAsync(target.Namespace, target.Primary, primary =>
        {
            var changed = !JsonEquals(primary.Spec.Template, source.Spec.Template);
            primary.Spec.Template = source.Spec.Template;
            // The target's labels and annotations follow the release, except keys the user claimed on the primary.
            var annotations = new Dictionary<string, string>(source.Metadata.Annotations, StringComparer.Ordinal) { [RevisionAnnotation] = revision };
            changed |= SetMetadata(primary.Metadata, labels: new Dictionary<string, string>(source.Metadata.Labels, StringComparer.Ordinal), annotations: annotations);
            return changed;
        }, cancellationToken);
        if (wait)
        {
            await WaitReadyAsync(target.Namespace, target.Primary, target.ProgressDeadline, cancellationToken);
        }
    }

    public Task ScaleCanaryToZeroAsync(WorkloadTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return ScaleAsync(target.Namespace, target.Name, 0, cancellationToken);
    }

    /// <summary>
    /// Waits until the deployment has rolled out its current generation with every replica ready
    /// and available; fails at once when Kubernetes reports ProgressDeadlineExceeded, and when
    /// the deadline passes.
    /// </summary>
    public async Task WaitReadyAsync(string ns, string name, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = time.GetUtcNow() + deadline;
        while (true)
        {
            var deployment = await KubernetesWrites.Call($"read deployment {ns}/{name}",
                () => client.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: cancellationToken));
            var status = deployment.Status;
            var wanted = deployment.Spec.Replicas ?? 1;
            var stalled = status?.Conditions?.FirstOrDefault(c => c.Type == "Progressing" && c.Status == "False" && c.Reason == "ProgressDeadlineExceeded");
            if (status is not null && status.ObservedGeneration >= deployment.Metadata.Generation)
            {
                if (stalled is not null)
                {
                    throw new WorkloadNotReadyException($"deployment {ns}/{name} did not become ready: {stalled.Message ?? "ProgressDeadlineExceeded"}");
                }

                if ((status.UpdatedReplicas ?? 0) >= wanted && (status.ReadyReplicas ?? 0) >= wanted && (status.AvailableReplicas ?? 0) >= wanted && (status.Replicas ?? 0) <= wanted)
                {
                    return;
                }
            }

            if (time.GetUtcNow() >= until)
            {
                throw new WorkloadNotReadyException(
                    $"deployment {ns}/{name} was not ready within {deadline}: {status?.ReadyReplicas ?? 0} of {wanted} replicas ready, {status?.UpdatedReplicas ?? 0} updated");
            }

            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }

    /// <summary>The primary made from the target: -primary selector and labels, configs renamed to their -primary copies.</summary>
    private static V1Deployment PrimaryFrom(V1Deployment target, WorkloadTarget workload, string key, string value, int replicas, IReadOnlySet<string> configs, string revision)
    {
        var copy = KubernetesJson.Deserialize<V1Deployment>(KubernetesJson.Serialize(target));
        var primaryValue = value + "-primary";
        var labels = Own(target.Metadata.Labels);
        labels[key] = primaryValue;
        labels[ManagedByLabel] = "canary";
        var annotations = Own(target.Metadata.Annotations);
        annotations[RevisionAnnotation] = revision;
        var primary = new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = workload.Primary, NamespaceProperty = workload.Namespace, Labels = labels, Annotations = annotations },
            Spec = copy.Spec,
        };
        primary.Spec.Replicas = replicas;
        primary.Spec.Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(copy.Spec.Selector.MatchLabels ?? new Dictionary<string, string>()) { [key] = primaryValue } };
        primary.Spec.Template.Metadata ??= new V1ObjectMeta();
        primary.Spec.Template.Metadata.Labels = new Dictionary<string, string>(primary.Spec.Template.Metadata.Labels ?? new Dictionary<string, string>()) { [key] = primaryValue };
        primary.Spec.Template.Metadata.Annotations = new Dictionary<string, string>(primary.Spec.Template.Metadata.Annotations ?? new Dictionary<string, string>()) { [RevisionAnnotation] = revision };
        PrimaryConfigs.Rename(primary.Spec.Template.Spec, configs);
        return primary;
    }

    /// <summary>Labels or annotations to copy: without kubectl's record and canary's own keys.</summary>
    internal static Dictionary<string, string> Own(IDictionary<string, string>? source) =>
        (source ?? new Dictionary<string, string>()).Where(p => p.Key != LastApplied && !p.Key.StartsWith("canary.dev/", StringComparison.Ordinal) && !p.Key.StartsWith("deployment.kubernetes.io/", StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>
    /// Sets labels and annotations, except keys the object's <see cref="UserKeysAnnotation"/> names;
    /// never removes a key. True when something changed.
    /// </summary>
    public static bool SetMetadata(V1ObjectMeta metadata, Dictionary<string, string>? labels = null, Dictionary<string, string>? annotations = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var userKeys = (Get(metadata.Annotations, UserKeysAnnotation) ?? string.Empty)
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var changed = false;
        foreach (var (wanted, target) in new[] { (labels, (Func<IDictionary<string, string>>)(() => metadata.Labels ??= new Dictionary<string, string>())), (annotations, () => metadata.Annotations ??= new Dictionary<string, string>()) })
        {
            foreach (var (key, value) in wanted ?? [])
            {
                var map = target();
                if (!userKeys.Contains(key) && (!map.TryGetValue(key, out var existing) || existing != value))
                {
                    map[key] = value;
                    changed = true;
                }
            }
        }

        return changed;
    }

    private async Task ApplyServiceAsync(WorkloadTarget target, string name, string key, string value, int port, int targetPort, CancellationToken cancellationToken)
    {
        var selector = new Dictionary<string, string> { [key] = value };
        var existing = await KubernetesWrites.ReadOrNullAsync($"read service {target.Namespace}/{name}",
            () => client.CoreV1.ReadNamespacedServiceAsync(name, target.Namespace, cancellationToken: cancellationToken));
        if (existing is null)
        {
            var service = new V1Service
            {
                ApiVersion = "v1",
                Kind = "Service",
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = target.Namespace, Labels = new Dictionary<string, string> { [ManagedByLabel] = "canary", [key] = value } },
                Spec = new V1ServiceSpec
                {
                    Selector = selector,
                    Ports = [new V1ServicePort { Name = "http", Port = port, TargetPort = targetPort, Protocol = "TCP" }],
                },
            };
            await KubernetesWrites.Call($"create service {target.Namespace}/{name}", () => client.CoreV1.CreateNamespacedServiceAsync(service, target.Namespace, cancellationToken: cancellationToken));
            return;
        }

        await KubernetesWrites.UpdateAsync(
            $"service {target.Namespace}/{name}",
            () => client.CoreV1.ReadNamespacedServiceAsync(name, target.Namespace, cancellationToken: cancellationToken),
            service =>
            {
                var same = service.Spec.Selector is { } current && current.Count == selector.Count && current.All(p => selector.GetValueOrDefault(p.Key) == p.Value);
                service.Spec.Selector = selector;
                return !same;
            },
            service => client.CoreV1.ReplaceNamespacedServiceAsync(service, name, target.Namespace, cancellationToken: cancellationToken),
            time,
            cancellationToken);
    }

    private Task<V1Deployment> UpdateDeploymentAsync(string ns, string name, Func<V1Deployment, bool> change, CancellationToken cancellationToken) =>
        KubernetesWrites.UpdateAsync(
            $"deployment {ns}/{name}",
            () => client.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: cancellationToken),
            change,
            d => client.AppsV1.ReplaceNamespacedDeploymentAsync(d, name, ns, cancellationToken: cancellationToken),
            time,
            cancellationToken);

    /// <summary>Sets one annotation with a merge patch, so no other field of the user's object is rewritten.</summary>
    private Task<V1Deployment> AnnotateAsync(string ns, string name, string key, string value, CancellationToken cancellationToken)
    {
        var patch = new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["annotations"] = new System.Text.Json.Nodes.JsonObject { [key] = value } } };
        return KubernetesWrites.Call($"annotate deployment {ns}/{name}",
            () => client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), name, ns, cancellationToken: cancellationToken));
    }

    private Task<V1Scale> ScaleAsync(string ns, string name, int replicas, CancellationToken cancellationToken) =>
        KubernetesWrites.Call($"scale deployment {ns}/{name} to {replicas}", () => client.AppsV1.PatchNamespacedDeploymentScaleAsync(
            new V1Patch("{\"spec\":{\"replicas\":" + replicas.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}}", V1Patch.PatchType.MergePatch), name, ns, cancellationToken: cancellationToken));

    private async Task<V1Deployment> ReadTargetAsync(WorkloadTarget target, CancellationToken cancellationToken) =>
        await KubernetesWrites.ReadOrNullAsync($"read deployment {target.Namespace}/{target.Name}",
            () => client.AppsV1.ReadNamespacedDeploymentAsync(target.Name, target.Namespace, cancellationToken: cancellationToken))
        ?? throw new KubernetesWriteException($"the target deployment {target.Namespace}/{target.Name} does not exist", System.Net.HttpStatusCode.NotFound);

    private static (string Key, string Value) SelectorLabel(V1Deployment deployment, WorkloadTarget target)
    {
        var labels = deployment.Spec.Selector?.MatchLabels ?? new Dictionary<string, string>();
        var key = SelectorKeys.FirstOrDefault(labels.ContainsKey) ?? labels.Keys.FirstOrDefault()
            ?? throw new KubernetesWriteException($"deployment {target.Namespace}/{target.Name} has no spec.selector.matchLabels; canary needs one (e.g. app: {target.Name})");
        return (key, labels[key]);
    }

    private static string? Get(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var value) ? value : null;

    private sealed record Snapshot(V1Deployment Deployment, Dictionary<string, V1ConfigMap> ConfigMaps, Dictionary<string, V1Secret> Secrets, string Revision);

    internal static bool JsonEquals<T>(T a, T b) => Json(a) == Json(b);

    /// <summary>KubernetesJson's text of a value; "null" for none (KubernetesJson.Serialize does not take null).</summary>
    private static string Json(object? value) => value is null ? "null" : KubernetesJson.Serialize(value);
}
