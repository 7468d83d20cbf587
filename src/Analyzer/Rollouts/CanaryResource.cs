using Canary.Analyzer.Metrics;
using Canary.Analyzer.Traffic;

namespace Canary.Analyzer.Rollouts;

/// <summary>A webhook of a Canary: its type decides when it is called (or, for gates, asked).</summary>
internal sealed record WebhookSpec(string Name, string Type, Uri Url, TimeSpan Timeout, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The types, with Flagger's names and meaning.</summary>
    public static readonly IReadOnlyList<string> Types = ["pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout", "rollback"];
}

/// <summary>
/// A Canary resource (Kubernetes custom resource canary.dev/v1alpha1 Canary, or the same document as
/// a YAML file in local mode), read and checked: the target, the router and its settings, the
/// analysis schedule, the steps, the canary config and the webhooks.
/// </summary>
internal sealed record CanaryResource
{
    public const string ApiVersion = "canary.dev/v1alpha1";

    public required string Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>The Deployment (or, in local mode, the process set) the release is about.</summary>
    public required string Target { get; init; }

    /// <summary>Local workloads (targetRef kind Process): the process file that says what runs the target, as written (relative to the Canary file).</summary>
    public string? ProcessFile { get; init; }

    /// <summary>istio, nginx, traefik, service (haproxy in local mode).</summary>
    public required string Router { get; init; }

    /// <summary>What the router routes, with its provider's settings.</summary>
    public required RouterTarget Routes { get; init; }

    /// <summary>Time between two ticks of the rollout (Flagger's analysis.interval).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The time range each analysis looks back over.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Fewer samples than this for a metric makes the analysis inconclusive.</summary>
    public int MinSamples { get; init; } = 10;

    public required RolloutSpec Rollout { get; init; }

    /// <summary>The metrics and judge settings, inline; null when ConfigRef names them.</summary>
    public CanaryConfig? Config { get; init; }

    /// <summary>The name of a canary config kept elsewhere (a ConfigMap key, a file, a named config of the API).</summary>
    public string? ConfigRef { get; init; }

    public IReadOnlyList<WebhookSpec> Webhooks { get; init; } = [];

    /// <summary>The label matchers of the two cohorts in the metrics; null: chosen from the router (see docs/rollouts.md).</summary>
    public Cohorts? Cohorts { get; init; }


    public string Key => RolloutKey.Of(Namespace, Name);
}
