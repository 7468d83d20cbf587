namespace Canary.Analyzer.Kubernetes;

/// <summary>The labels canary puts on the objects it creates, so it knows its own from the user's.</summary>
internal static class KubernetesLabels
{
    public const string ManagedBy = "app.kubernetes.io/managed-by";

    public const string Canary = "canary";
}
