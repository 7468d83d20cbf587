using System.Text.Json.Nodes;

namespace Canary.Testing.Kubernetes;

/// <summary>One kind the emulator serves: its group/version, names, scope and subresources.</summary>
public sealed record ResourceType(string Group, string Version, string Kind, string Plural, string Singular, bool Namespaced, string[] ShortNames, string[] Subresources, bool BuiltIn)
{
    public string GroupVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>"deployments.apps" as the API server names a resource in its messages.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public bool HasStatus => Subresources.Contains("status");

    /// <summary>A CRD version's additionalPrinterColumns (what `kubectl get` shows), or null.</summary>
    public JsonArray? PrinterColumns { get; init; }
}

/// <summary>The kinds served: the built-in ones canary uses, and every custom resource whose CRD was created.</summary>
internal sealed class ResourceCatalog
{
    private static readonly string[] Verbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
    private readonly List<ResourceType> types =
    [
        new(string.Empty, "v1", "Namespace", "namespaces", "namespace", false, ["ns"], [], true),
        new(string.Empty, "v1", "Service", "services", "service", true, ["svc"], [], true),
        new(string.Empty, "v1", "ConfigMap", "configmaps", "configmap", true, ["cm"], [], true),
        new(string.Empty, "v1", "Secret", "secrets", "secret", true, [], [], true),
        new(string.Empty, "v1", "Event", "events", "event", true, ["ev"], [], true),
        new("apps", "v1", "Deployment", "deployments", "deployment", true, ["deploy"], ["status", "scale"], true),
        new("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", true, ["ing"], ["status"], true),
        new("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, [], [], true),
        new("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", false, ["crd", "crds"], ["status"], true),
    ];

    public IReadOnlyList<ResourceType> All
    {
        get
        {
            lock (types)
            {
                return [.. types];
            }
        }
    }

    public ResourceType? Find(string group, string version, string plural) =>
        All.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);

    public IEnumerable<string> GroupsOf() => All.Where(t => t.Group.Length > 0).Select(t => t.Group).Distinct(StringComparer.Ordinal);

    /// <summary>Registers the served versions of a created CRD; returns their types.</summary>
    public IReadOnlyList<ResourceType> Register(JsonObject crd)
    {
        var spec = crd["spec"]!.AsObject();
        var names = spec["names"]!.AsObject();
        var group = spec["group"]!.GetValue<string>();
        var plural = names["plural"]!.GetValue<string>();
        var registered = new List<ResourceType>();
        foreach (var version in spec["versions"]!.AsArray().Select(v => v!.AsObject()).Where(v => v["served"]?.GetValue<bool>() ?? true))
        {
            var subresources = version["subresources"] is JsonObject s ? s.Select(p => p.Key).ToArray() : [];
            registered.Add(new ResourceType(
                group,
                version["name"]!.GetValue<string>(),
                names["kind"]!.GetValue<string>(),
                plural,
                names["singular"]?.GetValue<string>() ?? names["kind"]!.GetValue<string>().ToLowerInvariant(),
                (spec["scope"]?.GetValue<string>() ?? "Namespaced") == "Namespaced",
                names["shortNames"] is JsonArray shortNames ? shortNames.Select(n => n!.GetValue<string>()).ToArray() : [],
                subresources,
                false)
            {
                PrinterColumns = version["additionalPrinterColumns"]?.DeepClone() as JsonArray,
            });
        }

        lock (types)
        {
            types.RemoveAll(t => t.Group == group && t.Plural == plural);
            types.AddRange(registered);
        }

        return registered;
    }

    public void Unregister(string group, string plural)
    {
        lock (types)
        {
            types.RemoveAll(t => !t.BuiltIn && t.Group == group && t.Plural == plural);
        }
    }

    /// <summary>GET /api/v1 or /apis/{group}/{version}: an APIResourceList.</summary>
    public JsonObject ResourceList(string group, string version)
    {
        var resources = new JsonArray();
        foreach (var type in All.Where(t => t.Group == group && t.Version == version))
        {
            resources.Add(new JsonObject
            {
                ["name"] = type.Plural,
                ["singularName"] = type.Singular,
                ["namespaced"] = type.Namespaced,
                ["kind"] = type.Kind,
                ["verbs"] = new JsonArray([.. Verbs.Select(v => (JsonNode)v)]),
                ["shortNames"] = new JsonArray([.. type.ShortNames.Select(n => (JsonNode)n)]),
            });
            foreach (var sub in type.Subresources)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = $"{type.Plural}/{sub}",
                    ["singularName"] = string.Empty,
                    ["namespaced"] = type.Namespaced,
                    ["group"] = sub == "scale" ? "autoscaling" : null,
                    ["version"] = sub == "scale" ? "v1" : null,
                    ["kind"] = sub == "scale" ? "Scale" : type.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    /// <summary>One entry of GET /apis: the group with its versions, the first served one preferred.</summary>
    public JsonObject Group(string group)
    {
        var versions = All.Where(t => t.Group == group).Select(t => t.Version).Distinct(StringComparer.Ordinal)
            .Select(v => new JsonObject { ["groupVersion"] = $"{group}/{v}", ["version"] = v }).ToList();
        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = group,
            ["versions"] = new JsonArray([.. versions]),
            ["preferredVersion"] = versions[0].DeepClone(),
        };
    }
}
