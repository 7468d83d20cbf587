namespace Canary.Analyzer.Rollouts;

/// <summary>A rollout's key: its Canary's namespace and name, written NAMESPACE/NAME wherever it is kept or shown (the store, logs, metrics, the API).</summary>
internal readonly record struct RolloutKey(string Namespace, string Name)
{
    /// <summary>The key's text, NAMESPACE/NAME.</summary>
    public static string Of(string ns, string name) => new RolloutKey(ns, name).ToString();

    public override string ToString() => $"{Namespace}/{Name}";
}
