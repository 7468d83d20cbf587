using Canary.Analyzer.Documents;
using Canary.Analyzer.Kubernetes;
using System.Globalization;
using System.Text.Json.Nodes;
using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Workloads;
using k8s;
using k8s.Models;

namespace Canary.Analyzer.Serving;

/// <summary>
/// The Canary objects in the cluster: manual commands from the annotation canary.dev/command
/// (kubectl annotate canary NAME canary.dev/command=approve), the status canary writes back
/// (phase, weight, last score, reason; what kubectl get canaries shows), and Events.
/// </summary>
internal sealed class CanaryObjects(IKubernetes client, TimeProvider time) : ICommandInbox, IRolloutReporter
{
    public const string Group = "canary.dev";
    public const string Version = "v1alpha1";
    public const string Plural = "canaries";
    public const string CommandAnnotation = "canary.dev/command";
    public const string CommandIdAnnotation = "canary.dev/command-id";

    /// <summary>
    /// Reads the commands waiting on the Canary with their id. A command without one (a plain
    /// `kubectl annotate`) is given one first, written beside it with the object's resourceVersion,
    /// so a command annotated meanwhile is read again rather than overwritten. Nothing is removed:
    /// <see cref="ClearCommandsAsync"/> does that once the tick that applied them is stored.
    /// </summary>
    public async Task<PendingCommands> TakeCommandsAsync(string ns, string name, CancellationToken cancellationToken)
    {
        PendingCommands pending = PendingCommands.None;
        try
        {
            await TakeAsync();
        }
        catch (KubernetesWriteException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
        {
            // The Canary was deleted meanwhile: no commands (the watcher removes its job).
            return PendingCommands.None;
        }

        return pending;

        Task<JsonObject> TakeAsync() => KubernetesWrites.UpdateAsync($"give an id to the command of canary {ns}/{name}",
            () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(Group, Version, ns, Plural, name, cancellationToken),
            canary =>
            {
                var annotations = Annotations(canary);
                var text = annotations?[CommandAnnotation]?.GetValue<string>();
                if (annotations is null || string.IsNullOrWhiteSpace(text))
                {
                    // An id left without its command (someone removed only the command) would be inherited by the next one: it goes.
                    pending = PendingCommands.None;
                    return annotations?.Remove(CommandIdAnnotation) == true;
                }

                if (annotations[CommandIdAnnotation]?.GetValue<string>() is { Length: > 0 } id)
                {
                    pending = new PendingCommands(id, text);
                    return false;
                }

                pending = new PendingCommands(Guid.NewGuid().ToString("N"), text);
                annotations[CommandIdAnnotation] = pending.Id;
                return true;
            },
            canary => client.CustomObjects.ReplaceNamespacedCustomObjectAsync<JsonObject>(canary, Group, Version, ns, Plural, name, cancellationToken: cancellationToken),
            time,
            cancellationToken);
    }

    /// <summary>
    /// Removes commands a stored tick carried out: both annotations when the Canary still holds exactly
    /// them; when more were appended since, those stay under the same id (the store knows how much of
    /// its text was applied); when the id changed, nothing is touched.
    /// </summary>
    public async Task ClearCommandsAsync(string ns, string name, PendingCommands applied, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(applied);
        if (applied.Id is null)
        {
            return;
        }

        await KubernetesWrites.UpdateAsync($"clear the command of canary {ns}/{name}",
            () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(Group, Version, ns, Plural, name, cancellationToken),
            canary =>
            {
                var annotations = Annotations(canary);
                if (annotations?[CommandIdAnnotation]?.GetValue<string>() != applied.Id || annotations[CommandAnnotation]?.GetValue<string>() != applied.Text)
                {
                    return false;
                }

                annotations.Remove(CommandAnnotation);
                annotations.Remove(CommandIdAnnotation);
                return true;
            },
            canary => client.CustomObjects.ReplaceNamespacedCustomObjectAsync<JsonObject>(canary, Group, Version, ns, Plural, name, cancellationToken: cancellationToken),
            time,
            cancellationToken);
    }

    /// <summary>Adds a command to the Canary's command annotation (after any waiting there), as `kubectl annotate` would; the next tick carries it out.</summary>
    public async Task SendCommandAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken)
    {
        await KubernetesWrites.UpdateAsync($"send {command} to canary {ns}/{name}",
            () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(Group, Version, ns, Plural, name, cancellationToken),
            canary =>
            {
                var metadata = canary["metadata"]!.AsObject();
                var annotations = metadata["annotations"] as JsonObject ?? [];
                var waiting = annotations[CommandAnnotation]?.GetValue<string>();
                var word = command.ToString().ToLowerInvariant();
                annotations[CommandAnnotation] = string.IsNullOrWhiteSpace(waiting) ? word : $"{waiting},{word}";
                metadata["annotations"] = annotations;
                return true;
            },
            canary => client.CustomObjects.ReplaceNamespacedCustomObjectAsync<JsonObject>(canary, Group, Version, ns, Plural, name, cancellationToken: cancellationToken),
            time,
            cancellationToken);
    }

    private static JsonObject? Annotations(JsonObject canary) => canary["metadata"]?["annotations"] as JsonObject;

    /// <summary>Writes the decision into the Canary's status; an Event when the phase changes or the verdict moves traffic.</summary>
    public async Task ReportAsync(CanaryResource resource, TickResult tick, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(tick);
        var (before, decision) = (tick.PreviousPhase, tick.Decision);
        var state = decision.State;
        var status = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["phase"] = state.Phase.ToString(),
                ["canaryWeight"] = state.CanaryWeight,
                ["lastScore"] = state.LastScore,
                ["revision"] = state.Revision,
                ["primaryRevision"] = state.PrimaryRevision,
                ["failedChecks"] = state.FailedChecks,
                ["reason"] = decision.Reason,
                ["lastTransitionTime"] = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            },
        };
        if (tick.Analysis is not null)
        {
            // Whether the last analysis had evidence: a held release says why on the Canary itself. canary is the only writer of its conditions.
            var evidence = decision.WithoutEvidence ? "False" : "True";
            status["status"]!["conditions"] = new JsonArray(new JsonObject
            {
                ["type"] = "Evidence",
                ["status"] = evidence,
                ["reason"] = decision.WithoutEvidence ? "NoEvidence" : "Analysed",
                ["message"] = decision.WithoutEvidence ? decision.Reason : $"analysis {tick.AnalysisId}: {tick.Analysis.Outcome.Verdict}",
                ["lastTransitionTime"] = await EvidenceSinceAsync(resource, evidence, cancellationToken),
            });
        }

        await KubernetesWrites.Call($"write the status of canary {resource.Key}", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync<JsonObject>(
            new V1Patch(status.ToJsonString(), V1Patch.PatchType.MergePatch), Group, Version, resource.Namespace, Plural, resource.Name, cancellationToken: cancellationToken));
        if (before != state.Phase || decision.Verdict is StepVerdict.Advance or StepVerdict.Promote or StepVerdict.Abort)
        {
            await EventAsync(resource.Namespace, resource.Name, decision.Verdict == StepVerdict.Abort ? "Warning" : "Normal", before != state.Phase ? state.Phase.ToString() : decision.Verdict.ToString(), decision.Reason, cancellationToken);
        }

        if (decision.WithoutEvidence)
        {
            await EventAsync(resource.Namespace, resource.Name, "Warning", "NoEvidence", decision.Reason, cancellationToken);
        }

        if (tick.Analysis is { Warnings.Count: > 0 } analysis)
        {
            // A partial answer shaped this verdict: whoever reads the Canary's events should know.
            await EventAsync(resource.Namespace, resource.Name, "Warning", "MetricsWarning",
                $"Prometheus warned about the analysis {tick.AnalysisId}: {string.Join("; ", analysis.Warnings)}", cancellationToken);
        }
    }

    /// <summary>When the Evidence condition last changed its status: kept from the Canary while the status stays, else now (also when the Canary cannot be read).</summary>
    private async Task<string> EvidenceSinceAsync(CanaryResource resource, string evidence, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        try
        {
            var current = await KubernetesWrites.Call($"read canary {resource.Key}",
                () => client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(Group, Version, resource.Namespace, Plural, resource.Name, cancellationToken));
            var kept = (current["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Evidence");
            return kept?["status"]?.GetValue<string>() == evidence && kept["lastTransitionTime"]?.GetValue<string>() is { } since ? since : now;
        }
        catch (ExternalFaultException)
        {
            return now;
        }
    }

    /// <summary>Reports a Canary that cannot be used: status Invalid with every problem, and a Warning event.</summary>
    public async Task ReportInvalidAsync(string ns, string name, IReadOnlyList<string> problems, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var message = string.Join("; ", problems);
        var status = new JsonObject { ["status"] = new JsonObject { ["phase"] = "Invalid", ["reason"] = message } };
        await KubernetesWrites.Call($"write the status of canary {ns}/{name}", () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync<JsonObject>(
            new V1Patch(status.ToJsonString(), V1Patch.PatchType.MergePatch), Group, Version, ns, Plural, name, cancellationToken: cancellationToken));
        await EventAsync(ns, name, "Warning", "Invalid", message, cancellationToken);
    }

    private Task<Corev1Event> EventAsync(string ns, string name, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var body = new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = $"{name}.", NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference { ApiVersion = $"{Group}/{Version}", Kind = "Canary", Name = name, NamespaceProperty = ns },
            Type = type,
            Reason = reason,
            Message = message.Length > 1000 ? message[..1000] : message,
            Source = new V1EventSource { Component = "canary" },
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        return KubernetesWrites.Call($"record an event on canary {ns}/{name}", () => client.CoreV1.CreateNamespacedEventAsync(body, ns, cancellationToken: cancellationToken));
    }

    Task<PendingCommands> ICommandInbox.TakeAsync(string ns, string name, CancellationToken cancellationToken) => TakeCommandsAsync(ns, name, cancellationToken);

    Task ICommandInbox.ClearAsync(string ns, string name, PendingCommands carriedOut, CancellationToken cancellationToken) => ClearCommandsAsync(ns, name, carriedOut, cancellationToken);

    Task ICommandInbox.SendAsync(string ns, string name, RolloutCommand command, CancellationToken cancellationToken) => SendCommandAsync(ns, name, command, cancellationToken);

    /// <summary>A skipped tick changed nothing: the status stays as it is.</summary>
    Task IRolloutReporter.ReportAsync(CanaryResource resource, TickResult tick, CancellationToken cancellationToken) =>
        tick.Skipped ? Task.CompletedTask : ReportAsync(resource, tick, cancellationToken);
}
