using System.Text.RegularExpressions;

namespace Canary.Analyzer.Rollouts;

/// <summary>Kubernetes object names (DNS-1123), which canary also uses as folder and file names in local mode.</summary>
internal static partial class KubernetesNames
{
    /// <summary>A DNS-1123 label: namespaces, process names; at most 63 characters.</summary>
    public static bool IsLabel(string name) => Label().IsMatch(name ?? string.Empty);

    /// <summary>A DNS-1123 subdomain: most objects' metadata.name; at most 253 characters, never "." or "..".</summary>
    public static bool IsSubdomain(string name) => name is { Length: > 0 and <= 253 } && Subdomain().IsMatch(name);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\z")]
    private static partial Regex Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\z")]
    private static partial Regex Subdomain();
}
