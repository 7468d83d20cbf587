using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Canary.Testing.Kubernetes;

/// <summary>
/// Creates, reads, replaces, patches and deletes objects (and their status and scale subresources) in the store as the
/// API server does, CRDs registering and unregistering their kinds; it answers with the status code and the body to send.
/// </summary>
internal sealed class ObjectRequests(ResourceCatalog catalog, ObjectStore store)
{
    public async Task<(int Code, JsonObject Body)> ServeAsync(HttpContext context, ResourceType type, string? ns, string? name, string? sub)
    {
        var method = context.Request.Method;
        if (name is null)
        {
            if (method == "POST")
            {
                var body = await BodyAsync(context) as JsonObject ?? throw new ApiStatusException(400, "BadRequest", "the body must be an object");
                return (201, type.Kind == "CustomResourceDefinition" ? CreateCrd(type, body) : store.Create(type, ns, body));
            }

            throw new ApiStatusException(405, "MethodNotAllowed", $"{method} is not supported on a collection");
        }

        switch (method, sub)
        {
            case ("GET", null):
                return (200, store.Get(type, ns, name) ?? throw ApiStatusException.NotFound(type, name));
            case ("GET", "status"):
                return (200, store.Get(type, ns, name) ?? throw ApiStatusException.NotFound(type, name));
            case ("GET", "scale"):
                return (200, Scale(store.Get(type, ns, name) ?? throw ApiStatusException.NotFound(type, name)));
            case ("PUT", var s):
                var replacement = await BodyAsync(context) as JsonObject ?? throw new ApiStatusException(400, "BadRequest", "the body must be an object");
                return (200, Replace(type, ns, name, s, _ => replacement));
            case ("PATCH", var s):
                var patch = await BodyAsync(context);
                var contentType = context.Request.ContentType?.Split(';')[0].Trim();
                Func<JsonNode?, JsonNode?> apply = contentType switch
                {
                    "application/merge-patch+json" => doc => Patches.MergePatch(doc, patch),
                    "application/json-patch+json" => doc => Patches.JsonPatch(doc, patch as JsonArray ?? throw new PatchException("a JSON patch is an array")),
                    "application/strategic-merge-patch+json" when type.BuiltIn => doc => Patches.MergePatch(doc, patch, strategic: true),
                    "application/strategic-merge-patch+json" => throw new ApiStatusException(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources; use merge or json patch"),
                    _ => throw new ApiStatusException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"),
                };
                return (200, Replace(type, ns, name, s, current => apply(current) as JsonObject ?? throw new PatchException("the patch must leave an object")));
            case ("DELETE", null):
                var deleted = store.Delete(type, ns, name);
                if (type.Kind == "CustomResourceDefinition")
                {
                    var spec = deleted["spec"]!;
                    catalog.Unregister(spec["group"]!.GetValue<string>(), spec["names"]!["plural"]!.GetValue<string>());
                    store.DeleteAll(spec["group"]!.GetValue<string>(), spec["names"]!["plural"]!.GetValue<string>());
                }

                if (!type.BuiltIn || type.Kind == "Service")
                {
                    // As the API server: these kinds answer a delete with the object as it was.
                    return (200, deleted);
                }

                return (200, new JsonObject
                {
                    ["kind"] = "Status",
                    ["apiVersion"] = "v1",
                    ["metadata"] = new JsonObject(),
                    ["status"] = "Success",
                    ["details"] = new JsonObject { ["name"] = name, ["group"] = type.Group, ["kind"] = type.Plural, ["uid"] = deleted["metadata"]!["uid"]!.DeepClone() },
                });
            default:
                throw new ApiStatusException(405, "MethodNotAllowed", $"{method} is not supported here");
        }
    }

    public JsonObject CreateCrd(ResourceType type, JsonObject body)
    {
        var created = store.Create(type, null, body);
        catalog.Register(created);
        return store.Update(type, null, ObjectStore.Name(created), crd =>
        {
            crd["status"] = new JsonObject
            {
                ["acceptedNames"] = crd["spec"]!["names"]!.DeepClone(),
                ["conditions"] = new JsonArray(
                    new JsonObject { ["type"] = "NamesAccepted", ["status"] = "True", ["reason"] = "NoConflicts" },
                    new JsonObject { ["type"] = "Established", ["status"] = "True", ["reason"] = "InitialNamesAccepted" }),
            };
            return crd;
        }, statusOnly: true);
    }

    /// <summary>A write to an object, its status or its scale; changes the deployment's replicas for scale.</summary>
    private JsonObject Replace(ResourceType type, string? ns, string name, string? sub, Func<JsonObject, JsonObject> change)
    {
        if (sub == "scale")
        {
            var updated = store.Update(type, ns, name, current =>
            {
                var scale = change(Scale(current));
                if (scale["metadata"]?["resourceVersion"] is { } rv)
                {
                    current["metadata"]!["resourceVersion"] = rv.DeepClone();
                }

                current["spec"]!["replicas"] = scale["spec"]?["replicas"]?.DeepClone() ?? 1;
                return current;
            });
            return Scale(updated);
        }

        return store.Update(type, ns, name, change, statusOnly: sub == "status");
    }

    private static JsonObject Scale(JsonObject deployment) => new()
    {
        ["kind"] = "Scale",
        ["apiVersion"] = "autoscaling/v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = deployment["metadata"]!["name"]!.DeepClone(),
            ["namespace"] = deployment["metadata"]!["namespace"]?.DeepClone(),
            ["resourceVersion"] = deployment["metadata"]!["resourceVersion"]!.DeepClone(),
        },
        ["spec"] = new JsonObject { ["replicas"] = deployment["spec"]?["replicas"]?.DeepClone() ?? 1 },
        ["status"] = new JsonObject { ["replicas"] = deployment["status"]?["replicas"]?.DeepClone() ?? 0 },
    };

    private static async Task<JsonNode?> BodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        return text.Length == 0 ? throw new ApiStatusException(400, "BadRequest", "the request needs a body") : JsonNode.Parse(text);
    }
}
