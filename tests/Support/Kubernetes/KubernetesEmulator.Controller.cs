using System.Text.Json.Nodes;

namespace Canary.Testing.Kubernetes;

/// <summary>The deployment "controller": status follows the spec after RolloutDelay, or fails when told to.</summary>
public sealed partial class KubernetesEmulator
{
    private async Task RunDeploymentControllerAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(ControllerInterval, cancellationToken);
            var type = catalog.Find("apps", "v1", "deployments")!;
            foreach (var deployment in store.List(type, null, LabelSelector.Parse(null), null))
            {
                var key = $"{ObjectStore.Namespace(deployment)}/{ObjectStore.Name(deployment)}";
                JsonObject target;
                try
                {
                    target = TargetStatus(deployment, failingRollouts.GetValueOrDefault(key));
                }
                catch (Exception e) when (e is FormatException or InvalidOperationException)
                {
                    continue;
                }

                if (JsonNode.DeepEquals(target, deployment["status"]))
                {
                    pendingRollouts.TryRemove(key, out _);
                    continue;
                }

                var since = pendingRollouts.GetOrAdd(key, Time.GetUtcNow());
                if (Time.GetUtcNow() - since < RolloutDelay)
                {
                    continue;
                }

                pendingRollouts.TryRemove(key, out _);
                try
                {
                    store.Update(type, ObjectStore.Namespace(deployment), ObjectStore.Name(deployment), current =>
                    {
                        current["status"] = TargetStatus(current, failingRollouts.GetValueOrDefault(key));
                        return current;
                    }, statusOnly: true);
                }
                catch (Exception e) when (e is ApiStatusException or FormatException or InvalidOperationException)
                {
                    // Deleted meanwhile, or a spec the controller cannot read (a real controller would report it): try again next tick.
                }
            }
        }
    }

    /// <summary>The status a deployment settles at: all replicas ready, or, when told to fail, none and ProgressDeadlineExceeded.</summary>
    private static JsonObject TargetStatus(JsonObject deployment, bool fail)
    {
        var replicas = (int)ObjectStore.Integer(deployment["spec"]?["replicas"], 1);
        var generation = ObjectStore.Integer(deployment["metadata"]?["generation"], 1);
        var ready = fail ? 0 : replicas;
        var status = new JsonObject
        {
            ["observedGeneration"] = generation,
            ["replicas"] = replicas,
            ["updatedReplicas"] = replicas,
            ["readyReplicas"] = ready,
            ["availableReplicas"] = ready,
            ["unavailableReplicas"] = replicas - ready,
            ["conditions"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "Available",
                    ["status"] = ready >= replicas ? "True" : "False",
                    ["reason"] = ready >= replicas ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                },
                new JsonObject
                {
                    ["type"] = "Progressing",
                    ["status"] = fail ? "False" : "True",
                    ["reason"] = fail ? "ProgressDeadlineExceeded" : "NewReplicaSetAvailable",
                    ["message"] = fail ? $"ReplicaSet \"{ObjectStore.Name(deployment)}\" has timed out progressing." : $"ReplicaSet \"{ObjectStore.Name(deployment)}\" has successfully progressed.",
                }),
        };
        return status;
    }
}
