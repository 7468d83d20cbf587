using System.Text.Json.Nodes;
using k8s;

namespace Canary.Analyzer.Kubernetes;

/// <summary>
/// Custom resources (VirtualService, DestinationRule, TraefikService) as JSON trees, with the same
/// read-modify-write and bounded 409 retry as the typed objects.
/// </summary>
internal sealed class CustomObjects(IKubernetes client, TimeProvider time, string group, string version, string plural, string kind)
{
    /// <summary>On an object canary took over: its spec before, so finalizing can put it back.</summary>
    public const string OriginalAnnotation = "canary.dev/original-spec";

    public string Describe(string ns, string name) => $"{plural}.{group} {ns}/{name}";

    public Task<JsonObject?> GetAsync(string ns, string name, CancellationToken cancellationToken) =>
        KubernetesWrites.ReadOrNullAsync($"read {Describe(ns, name)}", () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(group, version, ns, plural, name, cancellationToken));

    public Task<JsonObject> CreateAsync(string ns, string name, JsonObject spec, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["apiVersion"] = $"{group}/{version}",
            ["kind"] = kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = new JsonObject { [KubernetesLabels.ManagedBy] = KubernetesLabels.Canary } },
            ["spec"] = spec,
        };
        return KubernetesWrites.Call($"create {Describe(ns, name)}", () => client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonObject>(body, group, version, ns, plural, cancellationToken: cancellationToken));
    }

    public Task<JsonObject> UpdateAsync(string ns, string name, Func<JsonObject, bool> change, CancellationToken cancellationToken) =>
        KubernetesWrites.UpdateAsync(
            Describe(ns, name),
            async () => await GetAsync(ns, name, cancellationToken) ?? throw new KubernetesWriteException($"{Describe(ns, name)} does not exist; reconcile the router first", System.Net.HttpStatusCode.NotFound),
            change,
            current => client.CustomObjects.ReplaceNamespacedCustomObjectAsync<JsonObject>(current, group, version, ns, plural, name, cancellationToken: cancellationToken),
            time,
            cancellationToken);

    public Task DeleteAsync(string ns, string name, CancellationToken cancellationToken) =>
        KubernetesWrites.DeleteAsync($"delete {Describe(ns, name)}", () => client.CustomObjects.DeleteNamespacedCustomObjectAsync<JsonObject>(group, version, ns, plural, name, cancellationToken: cancellationToken));

    /// <summary>
    /// Creates the object with spec when it is missing; when it exists and is not canary's, records its
    /// spec once (for finalizing) and lets adopt fit it. Returns the object as stored.
    /// </summary>
    public async Task<JsonObject> EnsureAsync(string ns, string name, Func<JsonObject> spec, Func<JsonObject, bool> adopt, CancellationToken cancellationToken)
    {
        if (await GetAsync(ns, name, cancellationToken) is null)
        {
            try
            {
                return await CreateAsync(ns, name, spec(), cancellationToken);
            }
            catch (KubernetesWriteException e) when (KubernetesWrites.IsConflict(e))
            {
                // Created meanwhile by someone else: adopt it below.
            }
        }

        return await UpdateAsync(ns, name, current =>
        {
            var changed = false;
            if (!IsOurs(current) && Annotation(current, OriginalAnnotation) is null)
            {
                SetAnnotation(current, OriginalAnnotation, current["spec"]?.ToJsonString() ?? "{}");
                changed = true;
            }

            return adopt(current) | changed;
        }, cancellationToken);
    }

    /// <summary>Deletes what canary created; gives back the recorded spec of what it adopted.</summary>
    public async Task RestoreAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var current = await GetAsync(ns, name, cancellationToken);
        if (current is null)
        {
            return;
        }

        if (IsOurs(current))
        {
            await DeleteAsync(ns, name, cancellationToken);
            return;
        }

        await UpdateAsync(ns, name, o =>
        {
            if (Annotation(o, OriginalAnnotation) is not { } original)
            {
                return false;
            }

            o["spec"] = JsonNode.Parse(original);
            o["metadata"]!["annotations"]!.AsObject().Remove(OriginalAnnotation);
            return true;
        }, cancellationToken);
    }

    public static bool IsOurs(JsonObject o) => o["metadata"]?["labels"]?[KubernetesLabels.ManagedBy]?.GetValue<string>() == KubernetesLabels.Canary;

    public static string? Annotation(JsonObject o, string key) => o["metadata"]?["annotations"]?[key]?.GetValue<string>();

    public static void SetAnnotation(JsonObject o, string key, string value)
    {
        var metadata = o["metadata"]!.AsObject();
        if (metadata["annotations"] is not JsonObject annotations)
        {
            metadata["annotations"] = annotations = [];
        }

        annotations[key] = value;
    }
}
