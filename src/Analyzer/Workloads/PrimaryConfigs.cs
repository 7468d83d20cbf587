using Canary.Analyzer.Kubernetes;
using k8s;
using k8s.Models;

namespace Canary.Analyzer.Workloads;

/// <summary>The ConfigMaps and Secrets a pod template uses, and their -primary copies (Flagger's way: the primary reads copies that a release does not change under it).</summary>
internal sealed class PrimaryConfigs(IKubernetes client, TimeProvider time)
{
    /// <summary>
    /// Copies the ConfigMaps and Secrets of the snapshot to NAME-primary (only missing copies unless
    /// overwrite); returns "configmap/NAME" and "secret/NAME" of the configs that have a copy.
    /// </summary>
    public async Task<IReadOnlySet<string>> CopyAsync(WorkloadTarget target, IReadOnlyDictionary<string, V1ConfigMap> configMaps, IReadOnlyDictionary<string, V1Secret> secrets, bool overwrite, CancellationToken cancellationToken)
    {
        var copied = new HashSet<string>(StringComparer.Ordinal);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(configMaps);
        ArgumentNullException.ThrowIfNull(secrets);
        foreach (var (name, map) in configMaps)
        {
            var copy = new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = CopyMeta(map.Metadata, name + "-primary", target.Namespace), Data = map.Data, BinaryData = map.BinaryData };
            await UpsertAsync($"configmap {target.Namespace}/{name}-primary",
                () => client.CoreV1.ReadNamespacedConfigMapAsync(name + "-primary", target.Namespace, cancellationToken: cancellationToken),
                () => client.CoreV1.CreateNamespacedConfigMapAsync(copy, target.Namespace, cancellationToken: cancellationToken),
                existing =>
                {
                    var same = KubernetesWorkloads.JsonEquals(existing.Data, copy.Data) && KubernetesWorkloads.JsonEquals(existing.BinaryData, copy.BinaryData);
                    existing.Data = copy.Data;
                    existing.BinaryData = copy.BinaryData;
                    return overwrite && !same;
                },
                existing => client.CoreV1.ReplaceNamespacedConfigMapAsync(existing, name + "-primary", target.Namespace, cancellationToken: cancellationToken),
                cancellationToken);
            copied.Add($"configmap/{name}");
        }

        foreach (var (name, secret) in secrets)
        {
            var copy = new V1Secret { ApiVersion = "v1", Kind = "Secret", Metadata = CopyMeta(secret.Metadata, name + "-primary", target.Namespace), Data = secret.Data, Type = secret.Type };
            await UpsertAsync($"secret {target.Namespace}/{name}-primary",
                () => client.CoreV1.ReadNamespacedSecretAsync(name + "-primary", target.Namespace, cancellationToken: cancellationToken),
                () => client.CoreV1.CreateNamespacedSecretAsync(copy, target.Namespace, cancellationToken: cancellationToken),
                existing =>
                {
                    var same = KubernetesWorkloads.JsonEquals(existing.Data, copy.Data);
                    existing.Data = copy.Data;
                    return overwrite && !same;
                },
                existing => client.CoreV1.ReplaceNamespacedSecretAsync(existing, name + "-primary", target.Namespace, cancellationToken: cancellationToken),
                cancellationToken);
            copied.Add($"secret/{name}");
        }

        return copied;
    }

    private async Task UpsertAsync<T>(string what, Func<Task<T>> read, Func<Task<T>> create, Func<T, bool> change, Func<T, Task<T>> replace, CancellationToken cancellationToken)
        where T : class
    {
        if (await KubernetesWrites.ReadOrNullAsync($"read {what}", read) is null)
        {
            try
            {
                await KubernetesWrites.Call($"create {what}", create);
                return;
            }
            catch (KubernetesWriteException e) when (KubernetesWrites.IsConflict(e))
            {
                // Created by someone else meanwhile: update it below.
            }
        }

        await KubernetesWrites.UpdateAsync(what, read, change, replace, time, cancellationToken);
    }

    private static V1ObjectMeta CopyMeta(V1ObjectMeta source, string name, string ns) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Labels = new Dictionary<string, string>(KubernetesWorkloads.Own(source.Labels)) { [KubernetesWorkloads.ManagedByLabel] = "canary" },
        Annotations = KubernetesWorkloads.Own(source.Annotations),
    };

    /// <summary>("configmap" | "secret", name) of every ConfigMap and Secret the pod spec refers to.</summary>
    public static HashSet<(string Kind, string Name)> References(V1PodSpec spec)
    {
        var found = new HashSet<(string Kind, string Name)>();
        foreach (var volume in spec.Volumes ?? [])
        {
            if (volume.ConfigMap?.Name is { } map)
            {
                found.Add(("configmap", map));
            }

            if (volume.Secret?.SecretName is { } secret)
            {
                found.Add(("secret", secret));
            }

            foreach (var source in volume.Projected?.Sources ?? [])
            {
                if (source.ConfigMap?.Name is { } projectedMap)
                {
                    found.Add(("configmap", projectedMap));
                }

                if (source.Secret?.Name is { } projectedSecret)
                {
                    found.Add(("secret", projectedSecret));
                }
            }
        }

        foreach (var container in (spec.Containers ?? []).Concat(spec.InitContainers ?? []))
        {
            foreach (var from in container.EnvFrom ?? [])
            {
                if (from.ConfigMapRef?.Name is { } map)
                {
                    found.Add(("configmap", map));
                }

                if (from.SecretRef?.Name is { } secret)
                {
                    found.Add(("secret", secret));
                }
            }

            foreach (var env in container.Env ?? [])
            {
                if (env.ValueFrom?.ConfigMapKeyRef?.Name is { } map)
                {
                    found.Add(("configmap", map));
                }

                if (env.ValueFrom?.SecretKeyRef?.Name is { } secret)
                {
                    found.Add(("secret", secret));
                }
            }
        }

        return found;
    }

    /// <summary>Points the pod spec's references at the -primary copies of the configs that were copied.</summary>
    public static void Rename(V1PodSpec spec, IReadOnlySet<string> copied)
    {
        string Renamed(string kind, string name) => copied.Contains($"{kind}/{name}") ? name + "-primary" : name;
        foreach (var volume in spec.Volumes ?? [])
        {
            if (volume.ConfigMap is { } map)
            {
                map.Name = Renamed("configmap", map.Name);
            }

            if (volume.Secret is { } secret)
            {
                secret.SecretName = Renamed("secret", secret.SecretName);
            }

            foreach (var source in volume.Projected?.Sources ?? [])
            {
                if (source.ConfigMap is { } projectedMap)
                {
                    projectedMap.Name = Renamed("configmap", projectedMap.Name);
                }

                if (source.Secret is { } projectedSecret)
                {
                    projectedSecret.Name = Renamed("secret", projectedSecret.Name);
                }
            }
        }

        foreach (var container in (spec.Containers ?? []).Concat(spec.InitContainers ?? []))
        {
            foreach (var from in container.EnvFrom ?? [])
            {
                if (from.ConfigMapRef is { } map)
                {
                    map.Name = Renamed("configmap", map.Name);
                }

                if (from.SecretRef is { } secret)
                {
                    secret.Name = Renamed("secret", secret.Name);
                }
            }

            foreach (var env in container.Env ?? [])
            {
                if (env.ValueFrom?.ConfigMapKeyRef is { } map)
                {
                    map.Name = Renamed("configmap", map.Name);
                }

                if (env.ValueFrom?.SecretKeyRef is { } secret)
                {
                    secret.Name = Renamed("secret", secret.Name);
                }
            }
        }
    }
}
