using System.Net.Http.Json;

namespace Canary.Analyzer.Rollouts;

/// <summary>
/// Calls a Canary's webhooks as Flagger does: POST a JSON payload (name, namespace, phase, revision,
/// metadata); a gate is open when its hook answers 2xx. A hook that fails or times out is reported,
/// and a gate that cannot be reached stays closed.
/// </summary>
internal sealed class Webhooks(HttpClient http, TimeProvider time)
{
    /// <summary>Calls every hook of the type; returns the problems (empty when all answered 2xx).</summary>
    public async Task<IReadOnlyList<string>> CallAsync(CanaryResource resource, string type, RolloutState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var problems = new List<string>();
        foreach (var hook in resource.Webhooks.Where(h => h.Type == type))
        {
            if (await SendAsync(resource, hook, state, cancellationToken) is { } problem)
            {
                problems.Add(problem);
            }
        }

        return problems;
    }

    /// <summary>Whether every gate of the type is open now; null when the Canary has none of that type.</summary>
    public async Task<bool?> GateAsync(CanaryResource resource, string type, RolloutState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var gates = resource.Webhooks.Where(h => h.Type == type).ToList();
        if (gates.Count == 0)
        {
            return null;
        }

        foreach (var gate in gates)
        {
            if (await SendAsync(resource, gate, state, cancellationToken) is not null)
            {
                return false;
            }
        }

        return true;
    }

    private async Task<string?> SendAsync(CanaryResource resource, WebhookSpec hook, RolloutState state, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(hook.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var payload = new
        {
            name = resource.Name,
            @namespace = resource.Namespace,
            phase = state.Phase.ToString(),
            revision = state.Revision,
            canaryWeight = state.CanaryWeight,
            type = hook.Type,
            metadata = hook.Metadata,
        };
        try
        {
            using var response = await http.PostAsJsonAsync(hook.Url, payload, linked.Token);
            return response.IsSuccessStatusCode ? null : $"webhook {hook.Name} ({hook.Type}) answered {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return $"webhook {hook.Name} ({hook.Type}) did not answer within {hook.Timeout}";
        }
        catch (HttpRequestException e)
        {
            return $"webhook {hook.Name} ({hook.Type}) cannot be reached: {e.Message}";
        }
    }
}
